"""Resident IDs never reach a log line unmasked, whichever logger wrote it."""
import json
import logging

from shared.logging import configure_logging, get_logger, mask_ids

ID = "11010519491231002X"


def test_mask_ids_masks_every_id_shaped_run_and_nothing_else():
    text = f"person {ID} paid; receipt 3340000000000000123456 and phone 13800138000"
    masked = mask_ids(text)
    assert ID not in masked and "110105**********2X" in masked
    assert "3340000000000000123456" in masked  # 22 digits: not an ID
    assert "13800138000" in masked


def test_structlog_and_stdlib_lines_are_json_and_masked(capsys):
    configure_logging("test", "INFO")
    get_logger("t").info("row refused", person=ID, detail={"ids": [ID]})
    logging.getLogger("aiokafka").warning("bad record %s", ID)
    logging.getLogger("faststream.test").warning(f"handler saw {ID}")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 3
    assert ID not in json.dumps(lines, ensure_ascii=False)
    assert lines[0]["person"] == "110105**********2X" and lines[0]["service"] == "test"
