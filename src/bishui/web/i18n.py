"""Page text in Chinese (the default) and English.

``t(key)`` in a template picks the request's language: ``?lang=`` (which also sets the
``bishui_lang`` cookie through ``/lang/<code>``), else the cookie, else the setting. A page
adds its strings to :data:`MESSAGES`; a test checks every key has both languages.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGS = ("zh", "en")
LANG_COOKIE = "bishui_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("碧水 · 荆门生态环境数据平台", "bishui · Jingmen eco-environment data platform"),
    "app.short": ("碧水", "bishui"),
    "nav.overview": ("一张图", "Overview map"),
    "nav.public": ("公众信息", "Public data"),
    "nav.api": ("接口文档", "API docs"),
    "nav.login": ("登录", "Log in"),
    "nav.logout": ("退出", "Log out"),
    "lang.switch": ("English", "中文"),
    "synthetic": (
        "演示数据：本站显示的监测数据为模型城市的合成数据，并非真实监测结果。",
        "Demo data: the monitoring data shown here is synthetic data of the model city, "
        "not real measurements.",
    ),
    "overview.title": ("一张图", "Overview map"),
    "overview.layers": ("图层", "Layers"),
    "overview.air": ("空气站（AQI 类别）", "Air stations (AQI category)"),
    "overview.water": ("水质断面（水质类别）", "Water sections (class)"),
    "overview.source": ("排放口（数据状态）", "Outlets (data state)"),
    "overview.nodata": ("无当前数据", "No current data"),
    "overview.updated": ("更新时间：", "Updated: "),
    "overview.details": ("站点详情", "Site details"),
    "overview.click": ("点击地图上的站点查看详情。", "Click a site on the map for details."),
    "overview.provisional": (
        "颜色为临时判定（见“判定依据”），待空气、水、污染源引擎接入后替换。",
        "Colours are provisional (see 'basis') until the air, water and source engines are "
        "wired in.",
    ),
    "public.title": (
        "公众信息：实时空气质量与水质",
        "Public data: real-time air and water quality",
    ),
    "public.air": ("空气质量（最新小时）", "Air quality (latest hour)"),
    "public.water": ("地表水水质（最新）", "Surface water (latest)"),
    "public.station": ("点位", "Station"),
    "public.section": ("断面", "Section"),
    "public.region": ("区县", "Region"),
    "public.category": ("类别", "Category"),
    "public.time": ("时间", "Time"),
    "public.target": ("目标", "Target"),
    "public.aqi_note": (
        "AQI 为临时值：仅由最新小时 PM2.5、PM10 按日均值分段计算（HJ 633），"
        "完整 AQI 待空气引擎接入。"
        "浓度单位 μg/m³（一氧化碳 mg/m³）。",
        "AQI is provisional: from the latest hourly PM2.5 and PM10 on the 24-hour breakpoints "
        "(HJ 633) only, until the air engine is wired in. Concentrations in μg/m³ (CO mg/m³).",
    ),
    "public.water_note": (
        "水质类别为临时判定：仅按溶解氧、高锰酸盐指数、化学需氧量、氨氮、总磷单因子评价"
        "（GB 3838-2002 表1），单位 mg/L。",
        "Classes are provisional: single-factor over DO, CODMn, COD, NH3-N and TP only "
        "(GB 3838-2002 Table 1), in mg/L.",
    ),
    "public.export": ("导出：", "Download: "),
    "detail.id": ("编号", "ID"),
    "public.none": ("暂无数据", "No data yet"),
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": (
        "用户名或密码错误，或账户已被暂时锁定。",
        "Invalid username or password, or the account is temporarily locked.",
    ),
    "login.limited": ("尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    "login.csrf": ("页面已过期，请重新提交。", "The page expired; please submit again."),
    "error.title": ("出错了", "Something went wrong"),
    "error.back": ("返回一张图", "Back to the overview"),
    "role": ("角色", "Role"),
    "map.source": ("地图：", "Map: "),
    "detail.latest": ("最新数值", "Latest values"),
    "detail.devices": ("数采仪", "Data loggers"),
    "detail.basis": ("判定依据", "Basis"),
    "detail.parameter": ("参数", "Parameter"),
    "detail.value": ("数值", "Value"),
    "detail.flag": ("标记", "Flag"),
}

#: Display names of HJ 212 parameter codes (HJ 212-2017 Appendix B names, abbreviated).
PARAMETERS: dict[str, tuple[str, str]] = {
    "a34004": ("PM2.5", "PM2.5"),
    "a34002": ("PM10", "PM10"),
    "a21026": ("二氧化硫", "SO2"),
    "a21004": ("二氧化氮", "NO2"),
    "a21005": ("一氧化碳", "CO"),
    "a05024": ("臭氧", "O3"),
    "w01001": ("pH", "pH"),
    "w01009": ("溶解氧", "DO"),
    "w01019": ("高锰酸盐指数", "CODMn"),
    "w01018": ("化学需氧量", "COD"),
    "w21003": ("氨氮", "NH3-N"),
    "w21011": ("总磷", "TP"),
    "w21001": ("总氮", "TN"),
}


def language(request: Request, default: str = "zh") -> str:
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(LANG_COOKIE)
    return c if c in LANGS else default


def translator(lang: str) -> Callable[[str], str]:
    i = LANGS.index(lang)

    def t(key: str) -> str:
        pair = MESSAGES.get(key)
        return pair[i] if pair else key

    return t


def parameter_name(code: str, lang: str) -> str:
    pair = PARAMETERS.get(code)
    return pair[LANGS.index(lang)] if pair else code
