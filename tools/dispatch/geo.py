"""Distances and travel times for dispatch: straight-line (haversine) distance times a road factor.

A city worker on an e-bike or van averages ~20 km/h door to door; streets are not straight, so
the great-circle distance is stretched by ``ROAD_FACTOR``. Good enough to rank workers and order
visits; not a navigation engine.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0
ROAD_FACTOR = 1.3
# Minutes on site per repair category (diagnose, fix, write up), used for planning only.
SERVICE_MINUTES = {"no_heat": 45, "leak": 60, "valve": 40, "equipment_noise": 40, "suspend": 30}
DEFAULT_SERVICE_MINUTES = 45

Point = tuple[float, float]  # (lat, lon)


def haversine_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def travel_minutes(a: Point, b: Point, *, speed_kmh: float) -> int:
    """Whole minutes from a to b; at least 5 between different buildings (parking, stairs)."""
    km = haversine_km(a, b) * ROAD_FACTOR
    if km < 0.05:
        return 0
    return max(5, math.ceil(km / speed_kmh * 60))


def service_minutes(category: str) -> int:
    return SERVICE_MINUTES.get(category, DEFAULT_SERVICE_MINUTES)
