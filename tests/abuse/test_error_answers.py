"""Error answers quote a bad value only shortened and never echo a body; a server error logs nothing of the
request; numbers JSON cannot carry are a 4xx in the API, CDS Hooks, the web forms and the web FHIR import.

The sentinel record values (tests/conftest.py) are sent in every failing request here, so that the session's
log scan would find them if any reached a log.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, NoReturn

import pytest

from allpath.errors import SHOWN_CHARS
from allpath.storage import patients as patient_store
from tests.api.conftest import Service
from tests.conftest import SENTINEL_BIRTH_DATE, SENTINEL_ID, SENTINEL_NAME, SENTINELS, sentinel_record

JSON = {"content-type": "application/json"}


def _no_sentinel(text: str) -> None:
    found = [value for value in SENTINELS if value in text]
    assert not found, found


# ---- 422: the place and a plain message, never the body ------------------------------------------------


def test_a_long_password_is_refused_without_being_quoted(abuse_service: Service) -> None:
    password = SENTINEL_NAME * 500  # 9.5 KB: under the sign-in body limit, over the password limit
    response = abuse_service.client().post("/api/session", json={"username": "nobody", "password": password})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "password"] and problem["type"] == "string_too_long"
    assert "input" not in problem and SENTINEL_NAME not in response.text
    assert len(response.content) < 400


def test_a_long_value_is_quoted_shortened_and_a_long_key_named_shortened(abuse_service: Service) -> None:
    client, auth = abuse_service.client(), abuse_service.bearer("clinician")
    long_name = SENTINEL_ID * 100
    response = client.post("/api/tokens", json={"name": long_name}, headers=auth)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "name"] and problem["ctx"] == {"max_length": 100}
    assert problem["input"].startswith(SENTINEL_ID[:10]) and len(problem["input"]) == SHOWN_CHARS
    response = client.post("/api/tokens", json={"name": "t", SENTINEL_ID * 50: 1}, headers=auth)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "extra_forbidden" and len(problem["loc"][-1]) == 40


def test_a_body_of_the_wrong_shape_is_not_echoed(abuse_service: Service) -> None:
    body = [sentinel_record() for _ in range(20)]  # a list where an object is expected (8 KB)
    response = abuse_service.client().post("/api/session", json=body)
    assert response.status_code == 422
    _no_sentinel(response.text)
    assert len(response.content) < 400


def test_a_record_problem_quotes_the_value_shortened(abuse_service: Service) -> None:
    client, auth = abuse_service.client(), abuse_service.bearer("clinician")
    for record, field in (
        (sentinel_record(id=SENTINEL_ID * 10), "id"),
        (sentinel_record(genetics=["iAMP21"] * 12), "genetics"),
        (sentinel_record(exposures={"courses": [{"drug": "doxorubicin", "date": SENTINEL_BIRTH_DATE}] * 5001}), None),
    ):
        response = client.post("/api/patients", json={"display_name": SENTINEL_NAME, "record": record}, headers=auth)
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == (field or "exposures.courses")
        shown = error["value"] if isinstance(error["value"], str) else json.dumps(error["value"])
        assert len(shown) <= SHOWN_CHARS
        assert len(response.content) < 1200


def test_a_number_beyond_a_float_in_a_record_is_refused_naming_it(abuse_service: Service) -> None:
    """A huge integer is JSON but not a number a record can hold: refused (it is no float) and not quoted whole."""
    client, auth = abuse_service.client(), abuse_service.bearer("clinician")
    body = json.dumps(sentinel_record()).replace("187654.25", "9" * 400)
    response = client.post("/api/assess", content=body, headers={**auth, **JSON})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "wbc_per_ul"]
    body = json.dumps(sentinel_record()).replace("187654.25", "1" + "0" * 300)  # a float, finite: the range says no
    response = client.post("/api/assess", content=body, headers={**auth, **JSON})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "wbc_per_ul"


# ---- numbers JSON cannot carry, everywhere -------------------------------------------------------------


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e309", "-1E+400"])
def test_unfinite_numbers_are_a_4xx_naming_the_place(abuse_service: Service, token: str) -> None:
    client, auth = abuse_service.client(), abuse_service.bearer("clinician")
    body = json.dumps(sentinel_record()).replace("187654.25", token)
    for path, media in (("/api/assess", "application/json"), ("/api/fhir/second-opinion", "application/fhir+json")):
        response = client.post(path, content=body, headers={**auth, "content-type": media})
        assert response.status_code == 422, (path, response.text)
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["body", "wbc_per_ul"] and problem["type"] == "number_not_finite"
        assert "not a number JSON can carry" in problem["msg"]
        _no_sentinel(response.text)
    nested = {"display_name": SENTINEL_NAME, "record": sentinel_record(relapses=[{"months_from_diagnosis": 0}])}
    text = json.dumps(nested).replace('"months_from_diagnosis": 0', f'"months_from_diagnosis": {token}')
    response = client.post("/api/patients", content=text, headers={**auth, **JSON})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "record", "relapses", 0, "months_from_diagnosis"]


def test_unfinite_numbers_in_a_cds_call_are_400_with_an_operation_outcome(abuse_service: Service) -> None:
    body = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": SENTINEL_ID}, "prefetch": {}}
    text = json.dumps(body).replace('"prefetch": {}', '"prefetch": {"wbc": {"valueQuantity": {"value": NaN}}}')
    response = abuse_service.client().post("/cds-services/allpath-patient-view", content=text, headers=JSON)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert (
        "NaN is not a number JSON can carry (at prefetch.wbc.valueQuantity.value)"
        in outcome["issue"][0]["details"]["text"]
    )


def _signed_in_page(service: Service) -> tuple[Any, str]:
    client, csrf = service.sign_in("clinician")
    return client, csrf


@pytest.mark.parametrize("typed", ["nan", "NaN", "inf", "-Infinity", "1e309", "9" * 400, "1" * 5000])
def test_a_web_form_number_that_is_no_finite_number_is_refused_naming_the_field(
    abuse_service: Service, typed: str
) -> None:
    client, csrf = _signed_in_page(abuse_service)
    form = {"csrf_token": csrf, "display_name": SENTINEL_NAME, "id": SENTINEL_ID, "wbc_per_ul": typed}
    for path in ("/patients/new", "/patients/check"):
        response = client.post(path, data=form)
        assert response.status_code in (200, 422), (path, response.status_code)  # check answers a fragment
        label = "white blood cell count at diagnosis (per microliter): "
        assert label in response.text and "is not allowed" in response.text, path
        assert re.search(r"\(per microliter\): &#34;[^&]{1,80}&#34; is not allowed", response.text), path


def test_a_web_fhir_import_with_nan_is_refused_in_words(abuse_service: Service) -> None:
    client, csrf = _signed_in_page(abuse_service)
    bundle = (
        '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Observation",'
        ' "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},'
        ' "valueQuantity": {"value": Infinity, "unit": "10*3/uL"}}}]}'
    )
    pasted = client.post("/patients/import", data={"csrf_token": csrf, "bundle_text": bundle})
    uploaded = client.post(
        "/patients/import",
        data={"csrf_token": csrf},
        files={"bundle_file": ("bundle.json", bundle.encode(), "application/fhir+json")},
    )
    for response in (pasted, uploaded):
        assert response.status_code == 422
        assert "This Bundle holds Infinity (at entry[0].resource.valueQuantity.value)" in response.text


# ---- 500: generic, and logged by type and route only ---------------------------------------------------


def _fail(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError(f"storage failed for {args!r} {kwargs!r}")  # the message holds the whole record


def test_a_server_error_answers_generically_and_logs_no_record_value(
    abuse_service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(patient_store, "add_patient", _fail)
    client, auth = abuse_service.client(), abuse_service.bearer("clinician")
    with caplog.at_level(logging.DEBUG):
        api = client.post(
            "/api/patients", json={"display_name": SENTINEL_NAME, "record": sentinel_record()}, headers=auth
        )
        web, csrf = _signed_in_page(abuse_service)
        form = {"csrf_token": csrf, "display_name": SENTINEL_NAME, "id": SENTINEL_ID, "wbc_per_ul": "187654.25"}
        page = web.post("/patients/new", data=form)
    assert api.status_code == 500
    assert api.json() == {"detail": "internal error: the request was not completed; nothing of it was saved"}
    assert page.status_code == 500 and "Something went wrong" in page.text
    _no_sentinel(api.text + page.text)
    ours = [r.getMessage() for r in caplog.records if r.name == "allpath.http"]
    assert ours == [
        "unhandled builtins.RuntimeError in POST /api/patients; answered 500",
        "unhandled builtins.RuntimeError in POST /patients/new; answered 500",
    ]
    _no_sentinel(caplog.text)
    assert "Traceback" not in caplog.text


def test_a_malformed_upload_is_refused_and_its_bytes_are_not_logged(
    abuse_service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    client, csrf = _signed_in_page(abuse_service)
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        f"--{boundary}\r\n{SENTINEL_ID}\x01bad header\r\n\r\n{SENTINEL_NAME}\r\n--{boundary}--\r\n"
    ).encode()
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    with caplog.at_level(logging.DEBUG):
        response = client.post("/patients/import", content=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert not [r for r in caplog.records if r.name.startswith("python_multipart")]
    _no_sentinel(caplog.text)
