"""Drug catalogue import against moto: incremental re-import, retirement, interrupted imports, and the
S3-triggered Lambda."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from dpd_extract import load_prices, parse_extract
from drug_catalog_import import read_manifest, write_catalog

from portal_common import dynamo
from portal_common.config import get_settings
from portal_common.drug_catalog import get_drug, get_drug_item, interchangeable_alternatives
from tests.unit.test_drugs_extract_and_index import drug_row, make_zip, small_extract

PRICES = b"din,unit_price,lca_price,limited_use\n02230711,2.3497,0.1882,N\n02295261,0.1882,,N\n"


def search_dins(prefix: str) -> list[str]:
    from drug_service import search

    return [item.din for item in search(prefix, 100, None, "en-CA").items]


def second_extract() -> dict[str, list[list[str]]]:
    """LIPITOR renamed, APO-ATORVASTATIN gone, a new generic in the same group."""
    files = small_extract()
    files["drug.txt"] = [
        drug_row("1", "02230711", "LIPITOR FILMTAB", "0123456001"),
        drug_row("8", "02310899", "TEVA-ATORVASTATIN", "0123456001"),
    ]
    files["status.txt"] = [[c, "Y", "MARKETED", "01-JAN-2020", "", "", ""] for c in ("1", "8")]
    for name in ("comp.txt", "form.txt", "route.txt", "schedule.txt", "ther.txt", "ingred.txt"):
        lipitor_rows = [row for row in files[name] if row[0] == "1"]
        files[name] = lipitor_rows + [["8", *row[1:]] for row in lipitor_rows]
    return files


def test_first_import_then_incremental_reimport_updates_in_place_and_retires(aws: Any) -> None:
    first = write_catalog(parse_extract(make_zip(small_extract())), load_prices(PRICES))
    assert first.marketed == 2
    assert first.full_rewrite
    assert len(first.errors) == 4
    assert search_dins("atorva") == ["02295261", "02230711"]  # brand word before ingredient
    lipitor = get_drug_item("02230711")
    assert lipitor is not None
    alternatives = interchangeable_alternatives(lipitor)
    assert [a.din for a in alternatives] == ["02295261"]

    same = write_catalog(parse_extract(make_zip(small_extract())), load_prices(PRICES))
    assert same.written == 0
    assert same.unchanged > 0
    assert not same.full_rewrite

    second = write_catalog(parse_extract(make_zip(second_extract())), load_prices(PRICES))
    assert second.retired == 1
    assert second.deleted > 0  # search pages of "apo..." are gone
    assert second.written > 0
    renamed = get_drug("02230711")
    assert renamed is not None
    assert renamed.brand_name == "LIPITOR FILMTAB"
    gone = get_drug("02295261")
    assert gone is not None
    assert gone.status == "NOT_MARKETED"  # kept for claims that refer to it, out of search and groups
    assert "02295261" not in search_dins("atorva")
    assert search_dins("apo") == []
    assert sorted(search_dins("atorva")) == ["02230711", "02310899"]
    assert [a.din for a in interchangeable_alternatives(get_drug_item("02230711") or {})] == ["02310899"]

    # The product comes back in a later extract: marketed again.
    third = write_catalog(parse_extract(make_zip(small_extract())), load_prices(PRICES))
    assert third.retired == 1  # TEVA this time
    back = get_drug("02295261")
    assert back is not None
    assert back.status == "MARKETED"


def test_an_interrupted_import_is_followed_by_a_full_rewrite_that_cleans_up(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_catalog(parse_extract(make_zip(small_extract())), {})
    import drug_catalog_import

    calls = {"n": 0}
    real = drug_catalog_import.batch_write

    def flaky(table: str, puts: Any = (), deletes: Any = (), **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("throttled for good")
        return real(table, puts=puts, deletes=deletes, **kwargs)

    monkeypatch.setattr(drug_catalog_import, "batch_write", flaky)
    with pytest.raises(RuntimeError):
        write_catalog(parse_extract(make_zip(second_extract())), {}, workers=1)
    manifest = read_manifest(get_settings().drugs_table)
    assert manifest is not None
    assert manifest.state == "IN_PROGRESS"

    monkeypatch.setattr(drug_catalog_import, "batch_write", real)
    again = write_catalog(parse_extract(make_zip(second_extract())), {})
    assert again.full_rewrite
    assert sorted(search_dins("atorva")) == ["02230711", "02310899"]
    assert search_dins("apo") == []
    manifest = read_manifest(get_settings().drugs_table)
    assert manifest is not None
    assert manifest.state == "COMPLETE"
    assert write_catalog(parse_extract(make_zip(second_extract())), {}).written == 0


def test_s3_upload_runs_the_import_lambda(aws: Any) -> None:
    import drug_import

    from local.lambda_runtime import make_context
    from portal_common.aws_clients import client

    bucket = get_settings().documents_bucket
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key="drug-extracts/bc-pharmacare-prices.csv.gz", Body=gzip.compress(PRICES))
    s3.put_object(Bucket=bucket, Key="drug-extracts/dpd-allfiles.zip", Body=make_zip(small_extract()))
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "ca-central-1",
                "eventTime": "2026-04-02T10:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": "drug-extracts/dpd-allfiles.zip", "size": 1000, "eTag": "x"},
                },
            }
        ]
    }
    spec = aws.functions()["DrugImportFunction"]
    result = drug_import.lambda_handler(event, make_context(aws, spec))
    report = result["files"][0]
    assert report["marketed"] == 2
    assert report["prices"] is True
    assert report["skippedRowCount"] == 4
    assert {"file": "drug.txt", "line": 3, "reason": "INVALID_DIN"} in report["skippedRows"]
    lipitor = get_drug("02230711")
    assert lipitor is not None
    assert lipitor.price is not None
    assert str(lipitor.price.lca_price) == "0.1882"

    s3.put_object(Bucket=bucket, Key="drug-extracts/broken.zip", Body=b"not a zip")
    event["Records"][0]["s3"]["object"]["key"] = "drug-extracts/broken.zip"
    result = drug_import.lambda_handler(event, make_context(aws, spec))
    assert result["files"][0]["rejected"] == "NO_MARKETED_DRUG"
    assert get_drug("02230711") is not None  # nothing already imported was lost


def test_no_scan_permission_needed(aws: Any) -> None:
    # The API function's policy allows key reads only; the code never scans the drugs table.
    template_policies = aws.resources["DrugsApiFunction"]["Properties"]["Policies"]
    actions = {a for p in template_policies for s in p.get("Statement", []) for a in s["Action"]}
    assert "dynamodb:Scan" not in actions
    assert dynamo.get_item(get_settings().drugs_table, {"PK": "nothing", "SK": "nothing"}) is None
