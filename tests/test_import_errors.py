"""Import errors that point to the fix: how to send the file, and a file saved with semicolons."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

IMPORT = "/api/v1/incidents/import"
SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stop-sample.csv"
NATIVE = (
    "title,country,start_date,shutdown_types,networks\r\n"
    "Mobile internet cut in Manipur,IN,2023-05-03,full_network,mobile\r\n"
)


def _resave(text: str, delimiter: str) -> str:
    """The file as a spreadsheet saves it with another separator (quoting kept by the csv module)."""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(
        csv.reader(io.StringIO(text, newline=""))
    )
    return out.getvalue()


def _upload(client, content: bytes, query: str):
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(content), filename="sheet.csv")})
    return client.post(
        f"{IMPORT}?{query}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", NATIVE.encode()),
        ("application/json", b'{"file": "incidents.csv"}'),
        ("application/x-www-form-urlencoded", b"file=incidents.csv"),
        (None, NATIVE.encode()),
    ],
)
def test_a_body_that_is_not_multipart_gets_415_naming_multipart_and_the_file_field(
    client, content_type, body
):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(f"{IMPORT}?format=stop", data=body, headers=headers)
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"
    detail = response.get_json()["detail"]
    got = content_type or "no Content-Type"
    assert detail == (
        f"Send the file as multipart/form-data in a field named `file` (got {got}), e.g. curl -H "
        '"Authorization: Bearer $KEY" -F file=@incidents.csv '
        "'http://localhost/api/v1/incidents/import?format=stop'."
    )
    assert client.get("/api/v1/incidents").get_json() == []


def test_other_endpoints_still_ask_for_json(client):
    response = client.post(
        "/api/v1/incidents", data="title,country\r\n", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 415
    assert response.get_json()["detail"] == "Send the body as application/json (got text/csv)."


def test_multipart_without_a_file_field_says_which_field(client):
    boundary, body = encode_multipart({"upload": FileStorage(io.BytesIO(NATIVE.encode()), filename="a.csv")})
    response = client.post(
        f"{IMPORT}?format=native", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["files"]["file"] == [
        "Send the CSV file as multipart/form-data in a field named `file`, e.g. curl -F file=@incidents.csv."
    ]


@pytest.mark.parametrize(
    ("fmt", "text"),
    [("native", NATIVE), ("stop", SAMPLE.read_text(encoding="utf-8"))],
)
@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolons"), ("\t", "tabs")])
@pytest.mark.parametrize("on_error", ["abort", "skip"])
def test_a_file_saved_with_another_separator_gets_422_saying_so_and_how_to_fix_it(
    client, fmt, text, delimiter, name, on_error
):
    content = ("\ufeff" + _resave(text, delimiter)).encode()  # Excel writes a BOM too
    response = _upload(client, content, f"format={fmt}&on_error={on_error}")
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["detail"].startswith(f"The file is separated by {name}, not commas")
    assert "Save it as comma-separated CSV (UTF-8)" in body["detail"]
    assert body["errors"] == {"files": {"file": [body["detail"]]}}
    assert "Unknown column" not in str(body)
    assert client.get("/api/v1/incidents").get_json() == []
    # The same rows with commas import.
    fixed = _upload(client, text.encode(), f"format={fmt}&on_error={on_error}&dry_run=true")
    assert fixed.status_code == 200, fixed.get_json()
    assert fixed.get_json()["created"] >= 1


def test_commas_with_semicolons_inside_cells_are_not_mistaken(client):
    text = (
        'title,country,start_date,shutdown_types,networks\r\n"A; b; c",IN,2023-05-03,full_network,mobile\r\n'
    )
    response = _upload(client, text.encode(), "format=native")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 1


def test_the_cli_says_so_too(runner, client, tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(_resave(SAMPLE.read_text(encoding="utf-8"), ";"), encoding="utf-8")
    result = runner.invoke(args=["incidents", "import", str(path), "--format", "stop"])
    assert result.exit_code == 1
    assert "Error: The file is separated by semicolons, not commas" in result.output
    assert client.get("/api/v1/incidents").get_json() == []
