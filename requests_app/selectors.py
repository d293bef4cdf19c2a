"""What the request pages show beyond the request itself.

Parts that apps above this one supply (the monitoring app's progress from its rollups) are connected at start-up
with `request_page_part`, so this app imports nothing above it.
"""

_parts: list = []


def request_page_part(part) -> None:
    """`part(request_obj) -> dict` adds to the request page's context."""
    if part not in _parts:
        _parts.append(part)


def request_page_parts(req) -> dict:
    context: dict = {}
    for part in _parts:
        context.update(part(req))
    return context
