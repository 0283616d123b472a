from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lvyue.geo.cli import app

runner = CliRunner()


def test_check_json() -> None:
    res = runner.invoke(
        app, ["check", "张三 13812345678 广东省深圳市南山区深南大道10000号", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {
        "province": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "street": None,
        "detail": "深南大道10000号",
        "name": "张三",
        "phone": "13812345678",
        "extension": None,
        "completed": [],
        "issues": [],
    }
    assert "广东省" in res.output  # ensure_ascii=False


def test_check_phone_option() -> None:
    res = runner.invoke(
        app, ["check", "杭州市西湖区文三路90号", "--phone", "138ABCD5678", "--json"]
    )
    out = json.loads(res.output)
    assert out["issues"] == ["invalid_phone"] and out["completed"] == ["province"]


def test_check_table() -> None:
    res = runner.invoke(app, ["check", "朝阳区建国路88号"])
    assert res.exit_code == 0
    assert "地区有歧义" in res.output and "ambiguous_region" in res.output
    assert "建国路88号" in res.output


def test_file_streams_one_result_per_line_in_order(tmp_path: Path) -> None:
    lines = [
        "张三 13812345678 广东省深圳市南山区深南大道10000号",
        json.dumps(
            {
                "text": "文三路90号",
                "province": "浙江省",
                "city": "杭州市",
                "district": "西湖区",
                "phone": "17012345678-1234",
            },
            ensure_ascii=False,
        ),
        "{not json",
        "",
        "朝阳区建国路88号",
    ]
    f = tmp_path / "in.txt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["check", "--file", str(f), "--json"])
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.output.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["district"] == "南山区"
    assert (out[1]["district"], out[1]["phone"], out[1]["extension"]) == (
        "西湖区",
        "17012345678",
        "1234",
    )
    assert out[2]["error"]["code"] == "invalid_input"
    assert out[3]["issues"] == ["unknown_region", "missing_detail"]
    assert out[4]["issues"] == ["ambiguous_region"]


def test_file_from_stdin_and_table() -> None:
    res = runner.invoke(app, ["check", "--file", "-"], input="浙江省杭州市西湖区文三路90号\n")
    assert res.exit_code == 0
    assert "西湖区" in res.output and "通过" in res.output


def test_text_and_file_are_exclusive(tmp_path: Path) -> None:
    res = runner.invoke(app, ["check"])
    assert res.exit_code != 0
    f = tmp_path / "x.txt"
    f.write_text("x\n", encoding="utf-8")
    res = runner.invoke(app, ["check", "x", "--file", str(f)])
    assert res.exit_code != 0
    res = runner.invoke(app, ["check", "--file", str(tmp_path / "missing.txt")])
    assert res.exit_code != 0
