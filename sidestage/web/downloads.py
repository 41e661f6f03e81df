"""Files to download: CSV exports and calendars, with the headers that make them files."""

from __future__ import annotations

from aiohttp import web


def csv_response(body: str, filename: str) -> web.Response:
    """A CSV document made by ``platform.spreadsheet.csv_document``, as an attachment."""
    response = web.Response(text=body, content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
