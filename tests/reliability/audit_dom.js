/* Run in the page by test_output_rendering_browser.py: what came out of rendered text, where links point.
 * arguments: [CSS selectors of the message areas, allowed origins]. */
const [areas, allowed] = arguments;
const problems = [];
const origin = (value) => {
  try { return new URL(value, location.href).origin; } catch (e) { return "unparsable"; }
};
for (const node of document.querySelectorAll("*")) {
  for (const attr of node.attributes) {
    const name = attr.name.toLowerCase();
    const value = attr.value.trim();
    if (name.startsWith("on")) problems.push(`${node.tagName} has ${name}`);
    if (!["href", "src", "action", "formaction", "xlink:href", "data", "poster"].includes(name)) continue;
    if (/^javascript:/i.test(value)) {
      problems.push(`${node.tagName} ${name}=${value}`);
    } else if (/^(blob|data):/i.test(value)) {
      if (!["IMG", "LINK"].includes(node.tagName)) problems.push(`${node.tagName} ${name}=${value}`);
    } else if (!allowed.includes(origin(value))) {
      problems.push(`${node.tagName} ${name} -> ${value}`);
    }
  }
}
const forbidden = "script,img,iframe,frame,svg,object,embed,video,audio,form,input,style,link,meta,base,b";
for (const selector of areas) {
  for (const area of document.querySelectorAll(selector)) {
    for (const node of area.querySelectorAll(forbidden)) {
      problems.push(`${selector} contains <${node.tagName.toLowerCase()}>`);
    }
  }
}
const fetched = performance.getEntriesByType("resource")
  .map((entry) => entry.name)
  .filter((name) => !allowed.includes(origin(name)));
return {
  problems,
  fetched,
  pwned: window.__pwned === undefined ? null : String(window.__pwned),
  dialogs: window.__dialogs || null,
  anchors: [...document.querySelectorAll(areas.map((a) => a + " a").join(","))].map((a) => a.href),
};
