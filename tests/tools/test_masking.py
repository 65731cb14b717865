from tools.masking import mask_address, mask_id_card, mask_name, mask_phone, mask_text, mask_value


def test_phone_keeps_prefix_and_last_four() -> None:
    assert mask_phone("13912340001") == "139****0001"
    assert mask_phone("139-1234-0001") == "139****0001"
    assert mask_phone(None) == ""


def test_id_card_keeps_only_edges() -> None:
    assert mask_id_card("11010519491231002X") == "110***********002X"


def test_name_keeps_surname() -> None:
    assert mask_name("张秀英") == "张**"


def test_address_hides_unit_and_room_but_keeps_building() -> None:
    assert mask_address("锦绣花园3号楼2单元501室") == "锦绣花园3号楼*单元***室"
    assert mask_address("幸福里6栋1单元1202") == "幸福里6栋*单元***"
    assert mask_address("翠湖苑2号楼302室") == "翠湖苑2号楼***室"


def test_free_text_masks_every_kind_of_personal_data() -> None:
    text = (
        "我是张秀英，电话13912340001，身份证11010519491231002X，住锦绣花园3号楼2单元501室，座机0411-86123456"
    )
    masked = mask_text(text)
    assert "13912340001" not in masked and "139****0001" in masked
    assert "11010519491231002X" not in masked and "002X" in masked
    assert "501" not in masked and "锦绣花园3号楼" in masked
    assert "86123456" not in masked


def test_free_text_leaves_account_numbers_and_money_alone() -> None:
    text = "户号2026010001欠费2327.00元，工单T202611220001"
    assert mask_text(text) == text


def test_nested_values_are_masked() -> None:
    value = {"who": ["13912340001", {"id": "11010519491231002X"}], "n": 3}
    assert mask_value(value) == {"who": ["139****0001", {"id": "110***********002X"}], "n": 3}
