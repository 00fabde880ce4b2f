"""The vehicle-inspection supervisor's page and the public report-code lookup (docs/vehicles.md).

``/vehicles`` (bureau staff; a county official sees its own stations): the station risk
ranking, the findings with their evidence, the standard-gas checks, both patrol-vehicle
comparisons and the old-vehicle register by county. ``/vehicles/r/{report_no}`` (everyone):
what a report's QR code opens — the stored summary and, with the code's ``s``, whether the
printed code verifies, with the reason when it does not. Chinese first, English on the switch;
rule, method, result and region names, never codes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from bishui.errors import NotFoundError
from bishui.vehicles import oldvehicles, service
from bishui.vehicles.gas import KINDS as GAS_KINDS
from bishui.vehicles.model import METHODS, RESULTS
from bishui.vehicles.rules import RULES
from bishui.web.api.vehicles import REPORT_NO, SUPERVISORS, _visible
from bishui.web.auth import ALL_ROLES, Principal, requires
from bishui.web.display import region_names
from bishui.web.i18n import MESSAGES, language
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

MESSAGES["nav.vehicles"] = ("机动车检验监管", "Vehicle inspections")
NAV.append(NavItem("/vehicles", "nav.vehicles", SUPERVISORS))
MESSAGES["nav.vehicles_upload"] = ("检验记录上传", "Upload inspection records")
NAV.append(NavItem("/vehicles/upload", "nav.vehicles_upload", ("enterprise",)))
NAV.sort(key=lambda n: n.path == "/docs")  # keep the API docs link last

RULES_EN = {
    "CLONE": "cloned curves (different vehicles)",
    "PASS_RATE": "pass rate far above peers",
    "FAST_RETEST": "re-test too soon after a fail",
    "RATED_POWER": "rated power ≠ registry",
    "OBD_SHARED": "one OBD calibration on several models",
    "HOURS": "test outside opening hours",
    "OXYGEN": "oxygen too high",
    "REGULAR": "too-regular signal",
    "VERDICT": "recomputed verdict differs",
    "BB_MISSING": "black-box data missing",
    "BB_CLOCK": "clock shifted",
    "BB_EDITED": "curve edited",
    "BB_EQUIPMENT": "equipment substituted",
    "GAS_FAIL": "standard-gas check failed",
    "GAS_MISSING": "no daily self-check",
    "PATROL": "patrol comparison outlier",
    "SEAL_BREAK": "electronic seal broken",
    "PROBE_MOVED": "sampling probe moved",
    "SELFCHECK_FAIL": "tested after a failed equipment self-check",
    "SELFCHECK_MISSING": "no equipment self-check before testing",
    "OLD_DIESEL": "spike of old diesel vehicles passing",
    "OBD_CLEARED": "OBD trouble codes cleared just before the test",
}
METHODS_EN = {
    "tsi": "two-speed idle",
    "asm": "ASM",
    "vmas": "VMAS",
    "lug_down": "lug-down",
    "free_accel": "free acceleration",
}
RESULTS_EN = {0: "fail", 1: "pass", 2: "aborted", 3: "invalid"}
GAS_EN = {"self": "daily self-check", "unannounced": "regulator's check"}
SEVERITY = {"low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high")}
REASONS = {
    "": ("验证通过：签名有效，与平台记录一致", "verified: signature valid, matches the record"),
    "malformed": ("二维码内容无法识别", "the code cannot be read"),
    "unknown_key": ("签名密钥未公布", "the signing key is not published"),
    "key_not_valid": ("签名密钥在报告日期无效", "the key was not valid on the report date"),
    "bad_signature": ("签名不符：报告被篡改或伪造", "signature mismatch: edited or forged"),
    "mismatch": ("与平台记录不一致", "differs from the platform's record"),
    "unknown_report": ("平台无此报告", "no such report"),
}
TEXT = {
    "title": ("机动车排放检验监管", "Vehicle emission inspection supervision"),
    "ranking": ("检测站风险排名", "Station risk ranking"),
    "ranking_chart": ("检测站风险得分", "Station risk scores"),
    "gas_chart": ("标气比对相对误差趋势（CO，%）", "Standard-gas relative error over time (CO, %)"),
    "findings": ("发现（附证据）", "Findings (with evidence)"),
    "gas": ("标气比对", "Standard-gas comparison"),
    "patrol_ref": (
        "巡查车比对：参考车辆在各站的结果",
        "Patrol vehicle: the reference vehicle at every station",
    ),
    "patrol_retest": ("巡查车比对：监管移动检测复检", "Patrol vehicle: the mobile unit's re-tests"),
    "old": ("黄标车及国三及以下车辆淘汰进度", "Old-vehicle elimination by county"),
    "rank": ("名次", "rank"),
    "station": ("检测站", "station"),
    "tests": ("检测数", "tests"),
    "score": ("风险分", "score"),
    "found": ("发现", "findings"),
    "rule": ("规则", "rule"),
    "severity": ("等级", "severity"),
    "subject": ("对象", "subject"),
    "evidence": ("证据", "evidence"),
    "time": ("时间", "time"),
    "analyser": ("分析仪", "analyser"),
    "kind": ("类型", "kind"),
    "result": ("结论", "result"),
    "pass": ("合格", "pass"),
    "fail": ("不合格", "fail"),
    "pollutant": ("项目", "item"),
    "value": ("结果", "value"),
    "median": ("各站中位数", "median"),
    "ratio": ("比值", "ratio"),
    "outlier": ("异常", "outlier"),
    "n": ("复检数", "re-tests"),
    "discordant": ("监管不合格", "failed by regulator"),
    "rate": ("不一致率", "discordance"),
    "region": ("区县", "county"),
    "total": ("应淘汰", "to eliminate"),
    "done": ("已完成", "done"),
    "pending": ("待淘汰", "pending"),
    "overdue": ("逾期", "overdue"),
    "share": ("完成率", "done"),
    "none": ("暂无数据", "no data"),
    "period": ("统计期", "period"),
    "report": ("检验报告查询", "Inspection report lookup"),
    "report_no": ("报告编号", "report no."),
    "plate": ("号牌", "plate"),
    "vin": ("车辆识别代号", "VIN"),
    "date": ("检验日期", "date"),
    "method": ("检验方法", "method"),
    "limits": ("限值版本", "limits version"),
    "verification": ("二维码验证", "code verification"),
    "key": ("签名密钥", "signing key"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}
POLLUTANTS = {
    "co": ("一氧化碳", "CO"),
    "hc": ("碳氢化合物", "HC"),
    "no": ("一氧化氮", "NO"),
    "co2": ("二氧化碳", "CO2"),
    "o2": ("氧气", "O2"),
    "nox": ("氮氧化物", "NOx"),
    "k": ("光吸收系数", "k"),
}


def _tr(lang: str) -> dict[str, str]:
    i = 0 if lang == "zh" else 1
    return {k: v[i] for k, v in TEXT.items()}


def _rule(code: str, lang: str) -> str:
    return RULES.get(code, (code,))[0] if lang == "zh" else RULES_EN.get(code, code)


EVIDENCE = {
    "other": ("另一检测", "other test"),
    "other_station": ("另一检测站", "other station"),
    "vins": ("车辆", "vehicles"),
    "cosine": ("相似度", "similarity"),
    "method": ("方法", "method"),
    "tests": ("检测数", "tests"),
    "passed": ("合格数", "passed"),
    "rate": ("合格率", "pass rate"),
    "peer_rate": ("同行合格率", "peers' rate"),
    "z": ("偏离度z", "z"),
    "failed": ("不合格检测", "failed test"),
    "failed_station": ("初检站", "first station"),
    "minutes": ("间隔(分钟)", "minutes"),
    "minimum": ("最短(分钟)", "minimum"),
    "reported_kw": ("报告功率kW", "reported kW"),
    "registry_kw": ("登记功率kW", "registry kW"),
    "model_kw": ("同型号功率kW", "model kW"),
    "model": ("车型", "model"),
    "cal_id": ("标定号", "CAL ID"),
    "cvn": ("CVN", "CVN"),
    "models": ("车型", "models"),
    "start": ("开始", "start"),
    "end": ("结束", "end"),
    "opens": ("开门", "opens"),
    "closes": ("关门", "closes"),
    "o2_mean_pct": ("平均氧含量%", "mean O2 %"),
    "max": ("上限", "max"),
    "constant_channels": ("恒定通道", "constant channels"),
    "claimed": ("站点结论", "claimed"),
    "recomputed": ("复核结论", "recomputed"),
    "reasons": ("原因", "reasons"),
    "limits_version": ("限值版本", "limits"),
    "values": ("复核值", "values"),
    "reason": ("原因", "reason"),
    "seconds": ("检测秒数", "seconds"),
    "missing_s": ("缺失秒数", "missing s"),
    "lag_s": ("偏移秒数", "shift s"),
    "correlation": ("相关系数", "correlation"),
    "start_difference_s": ("起始时差秒", "start difference s"),
    "channel": ("通道", "channel"),
    "seconds_differing": ("不一致秒数", "seconds differing"),
    "seconds_compared": ("比对秒数", "seconds compared"),
    "box_read": ("黑匣子读到", "box read"),
    "station_named": ("站点填报", "station named"),
    "registered": ("登记设备", "registered"),
    "analyser": ("分析仪", "analyser"),
    "day": ("日期", "day"),
    "reading": ("比对方式", "reading"),
    "n": ("复检数", "re-tests"),
    "discordant": ("监管不合格", "failed by regulator"),
    "subject": ("对象", "subject"),
}
VALUES = {
    "dropouts": ("数据缺失", "dropouts"),
    "no capture": ("无黑匣子数据", "no capture"),
    "reference": ("参考车辆", "reference vehicle"),
    "retest": ("移动检测复检", "mobile re-test"),
    "analyser failed its last gas check": (
        "分析仪最近一次标气检查不合格",
        "analyser failed its last gas check",
    ),
}


CHECKS = {
    "phase_order": ("工况顺序不符", "phase order"),
    "duration": ("时长不足", "too short"),
    "dilution": ("CO+CO2过低（稀释）", "CO+CO2 too low (dilution)"),
    "rpm_missing": ("无转速数据", "no engine speed"),
    "rpm_flat": ("转速恒定", "engine speed flat"),
    "speed": ("车速超差", "speed off"),
    "oil_temp": ("油温不足", "oil too cold"),
    "speed_trace": ("速度曲线超差", "off the speed trace"),
    "over_limit": ("超过限值", "over the limit"),
}


def _evidence(ev: dict[str, Any], lang: str) -> str:
    """Evidence in words: the numbers and names the rule recorded (short)."""
    i = 0 if lang == "zh" else 1
    parts = []
    for k, v in ev.items():
        if k == "method":
            v = METHODS.get(str(v), v) if i == 0 else METHODS_EN.get(str(v), v)
        elif k in ("claimed", "recomputed"):
            v = RESULTS.get(int(v), v) if i == 0 else RESULTS_EN.get(int(v), v)
        elif isinstance(v, str) and v in VALUES:
            v = VALUES[v][i]
        elif k == "reasons":
            v = "、".join(CHECKS.get(str(x[0]), (str(x[-1]),) * 2)[i] for x in v)
            parts.append(f"{EVIDENCE[k][i]}：{v}")
            continue
        elif k in ("values", "seconds_differing") and isinstance(v, dict):
            v = "、".join(
                f"{POLLUTANTS.get(a.split('_')[-1], (a, a))[i]} {b}" for a, b in v.items()
            )
        elif isinstance(v, dict):
            v = "、".join(f"{POLLUTANTS.get(a, (a, a))[i]} {b}" for a, b in v.items())
        elif isinstance(v, list):
            v = "、".join(str(x) for x in v)
        parts.append(f"{EVIDENCE.get(k, (k, k))[i]}：{v}")
    return "；".join(parts)[:200]


def _newest_day(store: Any) -> dt.date:
    rows = store.query("SELECT MAX(start) AS s FROM vehicles_inspections")
    s = rows[0]["s"] if rows else None
    return s.date() if s is not None else dt.date.today()


@router.get("/vehicles", response_class=HTMLResponse)
def vehicles_page(
    request: Request,
    p: Annotated[Principal, requires(*SUPERVISORS, scope="scoped")],
    days: Annotated[int, Query(ge=1, le=366)] = 31,
) -> HTMLResponse:
    store = request.app.state.web.store
    lang = language(request, request.app.state.web.settings.language)
    zh = lang == "zh"
    st = service.stations(store)
    seen = _visible(p, st)
    regions = region_names(store)
    last = _newest_day(store)
    first = last - dt.timedelta(days=days - 1)
    ranking = [r for r in service.ranking(store, first, last) if r["station"] in seen]
    for r in ranking:
        r["name"] = st[r["station"]].name if r["station"] in st else r["station"]
        r["found_text"] = "、".join(f"{_rule(k, lang)} {n}" for k, n in dict(r["by_rule"]).items())
    finds = [f for f in service.findings(store, None, 300) if f["station"] in seen]
    for f in finds:
        f["rule_text"] = _rule(f["rule_id"], lang)
        f["station_name"] = st[f["station"]].name if f["station"] in st else f["station"]
        f["severity_text"] = SEVERITY[f["severity"]][0 if zh else 1]
        f["evidence_text"] = _evidence(f["evidence"], lang)
    gas_rows = [g for g in service.gas_checks(store) if g["station"] in seen]
    for g in gas_rows:
        g["kind_text"] = GAS_KINDS[g["kind"]] if zh else GAS_EN[g["kind"]]
        g["station_name"] = st[g["station"]].name if g["station"] in st else g["station"]
        g["detail_text"] = "；".join(
            f"{POLLUTANTS.get(k, (k, k))[0 if zh else 1]} {d['relative'] * 100:+.1f}%"
            for k, d in g["detail"].items()
            if "relative" in d
        )
    pat = service.patrol_summary(store)
    ref_rows = [
        {
            "station_name": st[s].name if s in st else s,
            "pollutant": POLLUTANTS.get(k, (k, k))[0 if zh else 1],
            **v,
        }
        for s, d in pat["reference"].items()
        if s in seen
        for k, v in d.items()
    ]
    retest_rows = [
        {"station_name": st[s].name if s in st else s, **v}
        for s, v in pat["retest"].items()
        if s in seen
    ]
    entries = service.old_register(store)
    if p.role == "county":
        entries = [e for e in entries if e.region in p.regions or e.region == p.region]
    old = oldvehicles.progress(entries, dt.date.today())
    for o in old:
        o["region_name"] = regions.get(str(o["region"]), (str(o["region"]),) * 2)[0 if zh else 1]
        o["share"] = f"{int(o['done_permille']) / 10:.1f}%"
    # The charts' data (static/js/vehicles.js): the ranking's scores, and each analyser's
    # relative error of its CO reading (the first gas where CO was not checked) over time.
    drift: dict[str, list[list[object]]] = {}
    for g in sorted(gas_rows, key=lambda g: str(g["checked"])):
        rel = {k: d["relative"] for k, d in g["detail"].items() if "relative" in d}
        if rel:
            v = rel.get("co", next(iter(rel.values())))
            label = f"{g['station_name']} {g['analyser']}"
            drift.setdefault(label, []).append([str(g["checked"])[:16], round(v * 100, 2)])
    charts = {
        "ranking": [{"name": r["name"], "score": round(float(r["score"]), 1)} for r in ranking],
        "drift": drift,
        "pct": "相对误差（%）" if zh else "relative error (%)",
        "score": "风险得分" if zh else "risk score",
    }
    return render(
        request,
        "vehicles.html",
        {
            "T": _tr(lang),
            "charts": charts,
            "ranking": ranking,
            "findings": finds,
            "gas": gas_rows,
            "ref_rows": ref_rows,
            "retest_rows": retest_rows,
            "old": old,
            "first": first.isoformat(),
            "last": last.isoformat(),
        },
        principal=p,
    )


UPLOAD_TEXT = {
    "title": ("检验记录上传", "Upload inspection records"),
    "intro": (
        "上传本站的检验记录文件（JSON Lines：每行一条检验记录，格式同数据导入的 inspection 行；"
        '"kind": "selfcheck" 的行为设备日常自检：测功机滑行、分析仪泄漏检查、'
        "不透光烟度计零点检查）。整个文件全部通过校验才会入库；任何一行有误则全部不入库，"
        "并列出出错的行。",
        "Upload your station's inspection records (JSON Lines: one record a line, as the import's "
        'inspection rows; lines with "kind": "selfcheck" are daily equipment self-checks: '
        "coast-down, analyser leak check, opacimeter zero). The file is stored only if every row "
        "passes; otherwise nothing is stored and the rows in error are listed.",
    ),
    "stored_checks": ("已入库设备自检：", "Equipment self-checks stored: "),
    "file": ("文件", "File"),
    "send": ("上传", "Upload"),
    "row": ("行", "Row"),
    "field": ("字段", "Field"),
    "rule": ("要求", "Rule"),
    "value": ("值", "Value"),
    "errors": ("出错的行（未入库）", "Rows in error (nothing stored)"),
    "stored": ("已入库检验记录：", "Inspection records stored: "),
    "bad_json": ("不是有效的 JSON 行", "not a valid JSON line"),
    "empty": ("文件中没有记录", "the file holds no record"),
    "too_many": ("每次最多 500 条记录", "at most 500 records at a time"),
}


#: The upload's fields by name (an error names the field: the page shows its name, the code in
#: the cell's title); ``curve.<channel>`` is shown as the curve's name and the channel.
UPLOAD_FIELDS = {
    "id": ("检测流水号", "test number"),
    "station": ("检验机构", "station"),
    "lane": ("检测线", "lane"),
    "vin": ("车辆识别代号", "VIN"),
    "plate": ("号牌号码", "plate"),
    "method": ("检测方法", "method"),
    "start": ("检测开始时间", "start time"),
    "nature": ("检验类别", "initial or re-test"),
    "claimed_result": ("检测结论", "claimed result"),
    "curve": ("过程数据", "per-second curve"),
    "rated_power_kw": ("额定功率", "rated power"),
    "obd_cal_id": ("OBD 标定号", "OBD calibration ID"),
    "obd_cvn": ("OBD 标定校验码", "OBD CVN"),
    "analyser": ("分析仪", "analyser"),
    "vehicle_model": ("车辆型号", "vehicle model"),
    "fuel": ("燃料种类", "fuel"),
    "obd": ("OBD 检查", "OBD check"),
    "obd.mil_on": ("故障指示器状态", "MIL status"),
    "obd.dtc_count": ("故障代码数", "stored DTC count"),
    "obd.readiness": ("诊断就绪状态", "readiness monitors"),
    "obd.distance_since_clear_km": ("清码后行驶里程", "distance since codes cleared"),
    "obd.warmups_since_clear": ("清码后暖机次数", "warm-ups since codes cleared"),
    "inspection": ("检验记录", "inspection record"),
    "row": ("行", "row"),
    "kind": ("记录类型", "kind of row"),
    "item": ("自检项目", "self-check item"),
    "at": ("自检时间", "check time"),
    "ccdt_s": ("理论滑行时间", "calculated coast-down time"),
    "acdt_s": ("实测滑行时间", "actual coast-down time"),
    "device_passed": ("设备自检结论", "instrument's verdict"),
    "checks": ("设备自检", "self-checks"),
    "inspections": ("检验记录", "inspection records"),
}


@router.get("/vehicles/upload", response_class=HTMLResponse)
def station_upload_page(
    request: Request, p: Annotated[Principal, requires("admin", "enterprise", scope="scoped")]
) -> HTMLResponse:
    """A station's page to upload an inspection-record file through the upload API."""
    lang = language(request, request.app.state.web.settings.language)
    i = 0 if lang == "zh" else 1
    text: dict[str, Any] = {k: v[i] for k, v in UPLOAD_TEXT.items()}
    text["fields"] = {k: v[i] for k, v in UPLOAD_FIELDS.items()}
    return render(request, "vehicles_upload.html", {"U": text}, principal=p)


@router.get("/vehicles/r/{report_no}", response_class=HTMLResponse)
def report_lookup_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    report_no: Annotated[str, Path(pattern=REPORT_NO)],
    s: Annotated[str | None, Query(max_length=1500)] = None,
) -> HTMLResponse:
    """What a printed report's QR code opens."""
    store = request.app.state.web.store
    lang = language(request, request.app.state.web.settings.language)
    zh = lang == "zh"
    try:
        r = service.lookup(store, report_no)
    except NotFoundError:
        r = None
    verification = None
    if s is not None:
        v = service.verify_code(store, f"/r/{report_no}?s={s}")
        verification = {
            "ok": v.ok,
            "text": REASONS.get(v.reason, (v.detail, v.detail))[0 if zh else 1],
            "detail": v.detail,
        }
    summary = None
    if r is not None:
        sm = r["summary"]
        st = service.stations(store).get(sm["station"])
        summary = {
            "report_no": sm["report_no"],
            "plate": sm["plate"],
            "vin": sm["vin"],
            "station": st.name if st else sm["station"],
            "date": sm["date"],
            "method": METHODS.get(sm["method"], sm["method"])
            if zh
            else METHODS_EN.get(sm["method"], sm["method"]),
            "result": RESULTS.get(int(sm["result"]), sm["result"])
            if zh
            else RESULTS_EN.get(int(sm["result"]), sm["result"]),
            "limits": sm["limits_version"],
            "key": r["key_id"],
        }
    return render(
        request,
        "vehicles_report.html",
        {
            "T": _tr(lang),
            "summary": summary,
            "verification": verification,
            "report_no": report_no,
        },
        principal=p,
    )
