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
        "演示数据（模拟数据）：本站显示的监测数据为模型城市的合成数据，并非真实监测结果。",
        "Demo data: the monitoring data shown here is synthetic data of the model city, "
        "not real measurements.",
    ),
    "overview.title": ("一张图", "Overview map"),
    "overview.layers": ("图层", "Layers"),
    # the map's search box (issue 16 item 7)
    "map.search": ("搜索", "Search"),
    "map.search.placeholder": (
        "企业名称、统一社会信用代码或站点名称",
        "Enterprise name, credit code or site name",
    ),
    "map.search.none": ("未找到匹配的站点。", "No matching site."),
    "overview.air": ("空气站（AQI 类别）", "Air stations (AQI category)"),
    "overview.water": ("水质断面（水质类别）", "Water sections (class)"),
    "overview.source": ("排放口（达标状态）", "Outlets (compliance)"),
    "overview.nodata": ("无当前数据", "No current data"),
    "overview.updated": ("更新时间：", "Updated: "),
    "overview.details": ("站点详情", "Site details"),
    "overview.click": ("点击地图上的站点查看详情。", "Click a site on the map for details."),
    "overview.provisional": (
        "颜色由空气、水、污染源引擎判定（见“判定依据”）；引擎无法判定时按数据状态临时着色。",
        "Colours come from the air, water and source engines (see 'basis'); where an engine "
        "cannot judge, a provisional data-state colour is shown.",
    ),
    "public.title": (
        "公众信息：实时空气质量与水质",
        "Public data: real-time air and water quality",
    ),
    "public.air": ("空气质量（最新小时）", "Air quality (latest hour)"),
    "public.water": ("地表水水质（最新）", "Surface water (latest)"),
    "public.air_units": (
        "浓度 μg/m³（CO 为 mg/m³），AQI 无量纲",
        "µg/m³ (CO mg/m³); AQI dimensionless",
    ),
    "public.water_units": ("mg/L（pH 无量纲）", "mg/L (pH dimensionless)"),
    "public.station": ("点位", "Station"),
    "public.section": ("断面", "Section"),
    "public.region": ("区县", "Region"),
    "public.category": ("类别", "Category"),
    "public.time": ("时间", "Time"),
    "public.target": ("目标", "Target"),
    "public.aqi_note": (
        "AQI 为实时空气质量指数（HJ 633，按小时所适用的版本），类别与颜色见 HJ 633 表；"
        "浓度单位 μg/m³（一氧化碳 mg/m³）。时间为最新完整小时的结束时刻"
        "（如 13:00–14:00 的数据记为 14:00），正在进行的小时不发布。",
        "AQI is the real-time air quality index (HJ 633, the edition in force for the hour). "
        "Concentrations in μg/m³ (CO mg/m³). The time is the end of the newest complete hour "
        "(the data of 13:00–14:00 is shown as 14:00); an hour in progress is not published.",
    ),
    "public.water_note": (
        "水质类别为最新一日的单因子评价类别（GB 3838-2002），单位 mg/L。",
        "Classes are the single-factor class of the newest day (GB 3838-2002), in mg/L.",
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
    # -- the domain pages (bishui.web.dashboards) --
    "nav.air": ("空气", "Air"),
    "nav.water": ("水环境", "Water"),
    "nav.sources": ("污染源", "Sources"),
    "nav.tasks": ("执法任务", "Tasks"),
    "nav.compensation": ("生态补偿", "Compensation"),
    "nav.bigscreen": ("大屏", "Big screen"),
    "nav.assessment": ("生态文明考核", "Scorecards"),  # issue 18
    # -- the reports page (bishui.web.reports_page) --
    "nav.reports": ("报告", "Reports"),
    "reports.title": ("日报、月报与年度公报", "Daily, monthly and annual reports"),
    "reports.kind": ("报告", "Report"),
    "reports.period": ("时段", "Period"),
    "reports.version": ("版本", "Version"),
    "reports.created": ("生成时间", "Generated"),
    "reports.partial": ("部分数据", "Partial data"),
    "reports.rules": ("评价依据", "Rules"),
    "reports.download": ("下载 PDF", "Download PDF"),
    "reports.none": ("暂无报告", "No reports yet"),
    "reports.note": (
        "日报在当日结束后、月报在当月结束后自动生成；"
        "管理员和分析员可在本页、通过接口或命令 bishui report 按需生成。报告正文为中文。",
        "Daily reports are made after the day closes, monthly ones after the month; "
        "administrators and analysts can make one on demand here, through the API or with "
        "`bishui report`. The reports themselves are published in Chinese.",
    ),
    "export.units_yuan": ("元（人民币）", "yuan (CNY)"),
    "export.units_t": ("吨（t）", "tonnes (t)"),
    "reports.generate": ("按需生成报告", "Generate a report"),
    "reports.generate_button": ("生成", "Generate"),
    "reports.generating": ("正在生成，请稍候…", "Generating, please wait…"),
    "reports.generated": ("已生成", "Generated"),
    "reports.new": ("新生成", "new"),
    "reports.form_day": (
        "日报的时段为 2000–2100 年间的日期，格式 YYYY-MM-DD，例如 {example}",
        "a daily report's period is a day in 2000–2100, YYYY-MM-DD, e.g. {example}",
    ),
    "reports.form_month": (
        "月报的时段为 2000–2100 年间的月份，格式 YYYY-MM，例如 {example}",
        "a monthly report's period is a month in 2000–2100, YYYY-MM, e.g. {example}",
    ),
    "reports.form_year": (
        "年度公报的时段为 2000–2100 之间的年份，格式 YYYY，例如 {example}",
        "an annual bulletin's period is a year in 2000–2100, YYYY, e.g. {example}",
    ),
    "reports.not_closed": (
        "无法生成该时段的报告：日报只能生成今天以前（已结束）的日期，月报、年度公报的时段须已开始，"
        "年份在 2000–2100 之间。",
        "No report for that period: a daily report needs a day that has ended, a monthly or "
        "annual one a period that has begun, in 2000–2100.",
    ),
    "reports.forbidden": (
        "只有管理员和分析员可以生成报告。",
        "Only administrators and analysts can generate reports.",
    ),
    "reports.failed": ("生成失败：{message}", "Generation failed: {message}"),
    "ui.loading": ("加载中…", "Loading…"),
    "ui.empty": ("无数据", "No data"),
    "ui.unavailable": (
        "暂无此数据（接口未提供或无权限）",
        "Not available (no such data or no access)",
    ),
    "ui.yes": ("是", "yes"),
    "ui.no": ("否", "no"),
    "ui.show": ("查看", "Show"),
    "ui.year": ("年份", "Year"),
    "ui.date": ("日期", "Date"),
    "ui.month": ("月份", "Month"),
    "ui.name": ("名称", "Name"),
    "ui.region": ("区县", "Region"),
    "ui.time": ("时间", "Time"),
    "ui.status": ("状态", "Status"),
    "ui.edition": ("标准版本", "Edition"),
    "ui.standards": ("依据标准", "Standards"),
    "ui.rank": ("排名", "Rank"),
    "ui.note": ("说明", "Note"),
    "ui.reason": ("理由", "Reason"),
    "ui.submit": ("提交", "Submit"),
    "ui.done": ("已完成", "Done"),
    "ui.close": ("关闭", "Close"),
    "ui.select": ("点击表格中的一行查看详情。", "Click a row of the table for details."),
    "air.title": ("环境空气质量", "Ambient air quality"),
    "air.realtime": (
        "实时空气质量（城市、区县、站点）",
        "Real-time AQI (city, counties, stations)",
    ),
    "air.realtime_chart": ("各站点实时 AQI", "Real-time AQI by station"),
    "air.daily": ("日报", "Daily report"),
    "air.calendar": ("全市日 AQI 日历", "City daily AQI calendar"),
    "air.series": ("污染物浓度变化（近 7 天小时值）", "Pollutants, hourly, last 7 days"),
    "air.station": ("站点", "Station"),
    "air.ranking": ("区县环境空气质量综合指数排名", "Counties ranked by the composite index"),
    "air.assessment": ("年度评价", "Annual assessment"),
    "air.scope": ("范围", "Scope"),
    "air.primary": ("首要污染物", "Primary pollutant"),
    "air.category": ("类别", "Category"),
    "air.good_ratio": ("优良天数比例 %", "Good days %"),
    "air.composite": ("综合指数", "Composite index"),
    "air.complete": ("期间完整", "Complete period"),
    "air.daily_editions": ("日报所用版本", "Daily editions"),
    "air.edition_note": (
        "每行注明所依据的标准版本：2026-03-01 起适用 GB 3095-2026 / HJ 633-2026 / HJ 663-2026，"
        "之前为 2012 版。",
        "Each row names the edition it was computed by: GB 3095-2026 / HJ 633-2026 / "
        "HJ 663-2026 from 2026-03-01, the 2012 editions before.",
    ),
    "air.pm25_mean": ("PM2.5 年均 μg/m³", "PM2.5 mean µg/m³"),
    "air.pm25_status": ("PM2.5 达标", "PM2.5 status"),
    "air.o3_p90": ("O3 日最大 8 小时第 90 百分位 μg/m³", "O3 MDA8 90th pct µg/m³"),
    "water.title": ("地表水环境质量", "Surface water quality"),
    "water.sections": ("断面水质类别与目标达标", "Section classes and target attainment"),
    "water.class": ("水质类别", "Class"),
    "water.target": ("目标", "Target"),
    "water.attainment": ("达标情况", "Attainment"),
    "water.pollutants": ("主要污染指标", "Main pollutants"),
    "water.river": ("河流", "River"),
    "water.rivers": ("河流（湖库）水质", "Rivers and lakes"),
    "water.sections_n": ("断面数", "Sections"),
    "water.cwqi": ("城市水质指数（CWQI）区县排名", "CWQI ranking of the counties"),
    "water.classes_chart": ("断面类别构成", "Sections by class"),
    "water.cwqi_chart": ("区县 CWQI", "CWQI by county"),
    "water.share_good": ("优良比例 %", "Good %"),
    "water.drinking": ("集中式饮用水水源地", "Drinking-water sources"),
    "water.alerts": ("水源地预警", "Drinking-water alerts"),
    "water.compliant": ("达标", "Compliant"),
    "water.exceeding": ("超标项目", "Exceeding"),
    "water.kind": ("类型", "Kind"),
    "water.parameter": ("指标", "Parameter"),
    "water.value": ("数值", "Value"),
    "water.limit": ("限值", "Limit"),
    "sources.title": ("污染源监管", "Pollution sources"),
    "sources.permits": ("排污许可与排放口限值", "Permits and outlet limits"),
    "sources.permit_no": ("许可证编号", "Permit no."),
    "sources.enterprise": ("单位名称", "Enterprise"),
    "sources.class": ("管理类别", "Management class"),
    "sources.valid": ("有效期至", "Valid to"),
    "sources.caps": ("许可排放量 t/a", "Annual caps t/a"),
    "sources.outlets": ("排放口与最新数据", "Outlets and latest data"),
    "sources.outlet": ("排放口", "Outlet"),
    "sources.state": ("达标状态", "Compliance"),
    "sources.findings": ("核查发现", "Findings"),
    "sources.rule": ("规则", "Rule"),
    "sources.severity": ("级别", "Severity"),
    "sources.pollutant": ("污染物", "Pollutant"),
    "sources.start": ("开始", "Start"),
    "sources.end": ("结束", "End"),
    "sources.message": ("描述", "Message"),
    "sources.revisions_note": (
        "数据不会被静默改写：数采仪重传的不同数值会保留原值（修订记录，见 "
        "/api/v1/measurements/revisions），曲线中标为已修订；超过补传时限的旧数据进入隔离区待审核。",
        "Data is never rewritten silently: a logger's re-sent, different value keeps the earlier "
        "one (revisions at /api/v1/measurements/revisions) and is marked revised; data older "
        "than the backfill window waits in quarantine for review.",
    ),
    "sources.cap_usage": (
        "许可排放量使用情况（年初至今）",
        "Use of the permitted quantities (year to date)",
    ),
    "sources.coverage": (
        "数据覆盖率（有数据天数/已过天数）",
        "Coverage (days with data / days elapsed)",
    ),
    "sources.cap_note": (
        "年初至今排放量与年度许可排放量之比（%）；预计达到日期按近 30 日排放速率推算。"
        "80%、90% 预警与超量由 CAP 规则判定，见上方发现列表。",
        "Year-to-date emissions as a share (%) of the annual permitted quantity; the projected "
        "date follows the last 30 days' rate. The 80 % and 90 % warnings and breaches are "
        "findings of the CAP rule (above).",
    ),
    "sources.cap_t": ("许可量 t/a", "Cap t/a"),
    "sources.total_t": ("已排放 t", "Emitted t"),
    "sources.share": ("使用率 %", "Used %"),
    "sources.projected": ("预计达到许可量", "Cap reached (projected)"),
    "sources.limits": ("许可限值", "Permit limits"),
    "tasks.title": ("执法任务", "Enforcement tasks"),
    "tasks.inbox": ("任务列表", "Task inbox"),
    "tasks.id": ("任务编号", "Task"),
    "tasks.state": ("状态", "State"),
    "tasks.assignee": ("承办", "Assignee"),
    "tasks.deadline": ("期限", "Deadline"),
    "tasks.disposal": ("处置决定", "Disposal"),
    "tasks.requirement": ("整改要求", "What must be rectified"),
    "tasks.severity": ("级别", "Severity"),
    "tasks.detail": ("任务详情", "Task details"),
    "tasks.actions": ("办理", "Actions"),
    "tasks.events": ("办理记录", "Audit trail"),
    "tasks.filter": ("状态筛选", "State"),
    "tasks.all": ("全部", "All"),
    "tasks.action.assign": ("指派", "Assign"),
    "tasks.action.visit": ("现场检查", "Site visit"),
    "tasks.action.add_evidence": ("添加证据", "Add evidence"),
    "tasks.action.dispose": ("处置", "Dispose"),
    "tasks.action.submit_rectification": ("提交整改", "Submit rectification"),
    "tasks.action.verify_rectification": ("整改核查", "Verify rectification"),
    "tasks.action.close": ("办结", "Close"),
    "tasks.action.escalate": ("升级", "Escalate"),
    "tasks.action.reopen": ("重新打开", "Reopen"),
    "tasks.readonly": ("本角色只能查看任务。", "This role may only view tasks."),
    # the inspector's day (issue 16 item 9): the task's enterprise, check-in, records, approval
    "tasks.action.approve": ("审批通过", "Approve"),
    "tasks.action.reject": ("退回", "Reject"),
    "tasks.action.check_in": ("现场签到", "Check in"),
    "inspector.party": ("当事人", "Party"),
    "inspector.address": ("地址", "Address"),
    "inspector.legal_rep": ("法定代表人", "Legal representative"),
    "inspector.contact": ("联系人", "Contact"),
    "inspector.synthetic": ("演示用模拟信息", "synthetic demo data"),
    "inspector.checkins": ("签到记录", "Check-ins"),
    "inspector.none": ("尚未签到。", "No check-in yet."),
    "inspector.locating": ("正在获取位置…", "Getting the location…"),
    "inspector.denied": (
        "未获得定位权限：请在浏览器设置中允许本站使用位置信息，或在现场检查记录中注明位置。",
        "Location permission refused: allow this site to use the location in the browser's "
        "settings, or note the place in the visit record.",
    ),
    "inspector.unavailable": (
        "无法获取位置（无信号、超时或浏览器不支持定位）。",
        "The location is unavailable (no fix, timed out, or not supported by the browser).",
    ),
    "inspector.insecure": ("定位需要 HTTPS 连接。", "The location needs an HTTPS connection."),
    "inspector.distance": ("距登记位置", "From the registered location"),
    "inspector.accuracy": ("精度", "Accuracy"),
    "inspector.metres": ("米", "m"),
    "inspector.records": ("执法文书", "Enforcement records"),
    "inspector.record.inspection": ("现场检查（勘察）笔录", "On-site inspection record"),
    "inspector.record.inquiry": ("调查询问笔录", "Inquiry record"),
    "inspector.awaiting": (
        "处置待审批：须由执法科长（非处置人）审批后生效。",
        "The disposal awaits approval by a section chief other than the one who disposed.",
    ),
    "inspector.approved": ("已审批", "Approved"),
    "state.awaiting_approval": ("待审批", "Awaiting approval"),
    "inspector.awaiting_closure": (
        "结案待审批：须由执法科长（非申请结案人）审批后办结；退回则回到已处置。",
        "The closure awaits approval by a section chief other than the one who asked to close; "
        "a rejection sends the task back to disposed.",
    ),
    "state.awaiting_closure": ("待结案审批", "Awaiting closure approval"),
    "tasks.files": ("证据文件", "Evidence files"),
    "tasks.files.none": ("尚无证据文件。", "No evidence files yet."),
    "tasks.files.upload": ("上传", "Upload"),
    "tasks.files.choose": ("选择证据文件", "Choose evidence files"),
    "tasks.files.hint": (
        "照片（JPEG、PNG、WebP）、PDF 或 MP4 视频，每个文件不超过",
        "Photos (JPEG, PNG, WebP), PDF or MP4 video, each at most",
    ),
    "tasks.files.too_large": ("文件过大", "File too large"),
    "tasks.files.uploaded": ("已上传", "Uploaded"),
    "tasks.files.cite": ("引用的证据文件", "Evidence files cited"),
    "tasks.files.cited": ("已引用", "Cited"),
    "tasks.files.size": ("大小", "Size"),
    "tasks.files.by": ("上传人", "Uploaded by"),
    "tasks.files.type": ("类型", "Type"),
    "tasks.files.download": ("下载", "Download"),
    "tasks.subject": ("对象", "Subject"),
    "tasks.alerts": ("关联预警", "Alerts behind this task"),
    "tasks.alert.rule": ("规则", "Rule"),
    "tasks.alert.parameter": ("监测项目", "Parameter"),
    "tasks.alert.start": ("开始", "Start"),
    "tasks.alert.end": ("结束", "End"),
    "tasks.subject.outlet": ("排口", "Outlet"),
    "tasks.subject.water_source": ("饮用水水源地", "Drinking-water source"),
    "comp.title": ("生态补偿", "Ecological compensation"),
    "comp.statements": ("结算单", "Statements"),
    "comp.agreement": ("协议", "Agreement"),
    "comp.period": ("期间", "Period"),
    "comp.amount": ("金额（元）", "Amount (yuan)"),
    "comp.state": ("确认状态", "Confirmation"),
    "comp.detail": ("结算单详情与数据追溯", "Statement, traced to its data"),
    "comp.explain": ("计算说明", "The computation in words"),
    "comp.evidence": ("依据数据", "Evidence"),
    "comp.print": ("打印版", "Printable"),
    "comp.acknowledge": ("确认", "Acknowledge"),
    "comp.dispute": ("提出异议", "Dispute"),
    "comp.ledger": ("台账余额", "Ledger balances"),
    "big.title": ("荆门市生态环境大屏", "Jingmen eco-environment big screen"),
    "big.city_aqi": ("全市实时 AQI", "City real-time AQI"),
    "big.stations": ("站点实时 AQI", "Stations, real-time AQI"),
    "big.water": ("断面水质类别", "Sections by class"),
    "big.ranking": ("区县空气质量排名", "County air ranking"),
    "big.tasks": ("执法任务", "Enforcement tasks"),
    "big.findings": ("近 24 小时核查发现", "Findings, last 24 h"),
    "big.attained": ("断面达标", "Sections on target"),
    "big.good_ratio": ("全年优良天数比例", "Good days this year"),
    "big.updated": ("更新于", "Updated"),
    "big.clock": ("北京时间", "Beijing time"),
    "big.beijing": ("（北京时间）", " (Beijing time)"),
    # the alerts page and the bell (issue 16 item 4)
    "nav.alerts": ("告警", "Alerts"),
    "alerts.title": ("告警", "Alerts"),
    "alerts.groups": ("告警（按站点、规则、日期归并）", "Alerts (grouped by site, rule and day)"),
    "alerts.items": ("告警明细", "Alerts of the group"),
    "alerts.filter": ("筛选", "Filter"),
    "alerts.state": ("处理状态", "State"),
    "alerts.severity_min": ("最低级别", "Severity at least"),
    "alerts.rule": ("规则", "Rule"),
    "alerts.acked": ("确认", "Acknowledged"),
    "alerts.from": ("起始日期", "From"),
    "alerts.to": ("截止日期", "To"),
    "alerts.all": ("全部", "All"),
    "alerts.apply": ("查询", "Apply"),
    "alerts.routes": ("通知规则", "Routing rules"),
    "alerts.routes.note": (
        "告警按规则发送：规则前缀、对象类型、区县、最低级别 → 接收人（role:角色、user:用户名、"
        "tel:手机号）与通道。只有实时告警发送通知，历史数据补查出的告警只在本页列出。",
        "Alerts are sent by these rules: rule prefix, subject kind, region, lowest severity → "
        "recipients (role:…, user:…, tel:…) and channels. Only live alerts notify; alerts "
        "found in history are listed here only.",
    ),
    "alerts.routes.add": ("新增规则", "Add a rule"),
    "alerts.deliveries": ("外部通道发送记录", "Messages on outside channels"),
    "alerts.readonly": ("本角色只能查看告警。", "This role can only view alerts."),
    "ui.sev.info": ("提示", "Info"),
    "ui.sev.low": ("低", "Low"),
    "ui.sev.medium": ("中", "Medium"),
    "ui.sev.high": ("高", "High"),
    "ui.astate.new": ("待处理", "New"),
    "ui.astate.tasked": ("已立案", "Tasked"),
    "ui.astate.dismissed": ("已排除", "Dismissed"),
    "ui.kind.outlet": ("排污口", "Outlet"),
    "ui.kind.water_source": ("饮用水水源地", "Drinking-water source"),
    "ui.dstate.pending": ("待发送", "Pending"),
    "ui.dstate.sent": ("已发送", "Sent"),
    "ui.dstate.failed": ("发送失败", "Failed"),
    "ui.chan.inapp": ("站内", "In-app"),
    "ui.chan.log": ("日志", "Log"),
    "ui.chan.sms": ("短信", "SMS"),
    "ui.chan.wecom": ("企业微信", "WeChat Work"),
    "ui.chan.dingtalk": ("钉钉", "DingTalk"),
    "ui.al.day": ("日期", "Day"),
    "ui.al.site": ("站点", "Site"),
    "ui.al.rule": ("规则", "Rule"),
    "ui.al.severity": ("级别", "Severity"),
    "ui.al.count": ("条数", "Alerts"),
    "ui.al.new": ("待处理", "New"),
    "ui.al.unacked": ("未确认", "Unacknowledged"),
    "ui.al.period": ("时段", "Period"),
    "ui.al.task": ("任务", "Task"),
    "ui.al.pollutant": ("因子", "Parameter"),
    "ui.al.state": ("处理状态", "State"),
    "ui.al.ack": ("确认", "Acknowledge"),
    "ui.al.acked_by": ("确认人", "Acknowledged by"),
    "ui.al.acked_at": ("确认时间", "Acknowledged at"),
    "ui.al.details": ("明细", "Details"),
    "ui.al.total": ("共 {n} 组", "{n} groups"),
    "ui.al.prev": ("上一页", "Previous"),
    "ui.al.next": ("下一页", "Next"),
    "ui.al.page": ("第 {p} / {q} 页", "Page {p} of {q}"),
    "ui.al.done": ("已确认 {n} 条", "{n} acknowledged"),
    "ui.rt.name": ("名称", "Name"),
    "ui.rt.match": ("适用", "Applies to"),
    "ui.rt.recipients": ("接收人", "Recipients"),
    "ui.rt.channels": ("通道", "Channels"),
    "ui.rt.enabled": ("启用", "Enabled"),
    "ui.rt.by": ("修改人", "Changed by"),
    "ui.rt.delete": ("删除", "Delete"),
    "ui.rt.edit": ("编辑", "Edit"),
    "ui.rt.editing": ("编辑规则：{name}", "Editing the rule: {name}"),
    "ui.rt.cancel": ("取消编辑", "Cancel editing"),
    "ui.rt.enable": ("启用", "Enable"),
    "ui.rt.disable": ("停用", "Disable"),
    "ui.rt.any": ("全部", "any"),
    "ui.dl.created": ("时间", "Time"),
    "ui.dl.channel": ("通道", "Channel"),
    "ui.dl.recipient": ("接收人", "Recipient"),
    "ui.dl.subject": ("内容", "Message"),
    "ui.dl.status": ("状态", "Status"),
    "ui.dl.attempts": ("尝试次数", "Attempts"),
    "ui.dl.error": ("最近错误", "Last error"),
    "ui.dl.retry": ("重发", "Retry"),
    "ui.bell": ("通知", "Notifications"),
    "ui.bell.none": ("暂无通知", "No notifications"),
    "ui.bell.read": ("全部标为已读", "Mark all read"),
}

#: Names of the alert rules that are not the sources' rules (whose names are their titles).
ALERT_RULES: dict[str, tuple[str, str]] = {
    "water.exceedance": ("水源地超标", "Drinking-water source exceedance"),
    "water.trend": ("水源地水质变化趋势", "Drinking-water source trend"),
    "water.gap": ("水源地监测数据缺失", "Drinking-water source data gap"),
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
    "a21002": ("氮氧化物", "NOx"),
    "a34013": ("颗粒物", "Particulates"),
    "a19001": ("氧含量", "O2"),
    "a00000": ("废气流量", "Flue-gas flow"),
    "w00000": ("废水流量", "Wastewater flow"),
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
