"""The data-upload page (数据上传) and the user-management page (用户管理).

Both are shells over the JSON API, like the domain pages: ``/upload`` sends the chosen file to
``POST /api/v1/uploads`` (first ``commit=false`` for the preview and the row errors, then
``commit=true``), ``/users`` calls ``/api/v1/users…``. The pages and the API declare the same
roles (:data:`bishui.web.api.uploads.UPLOADERS`; administrators for users), and every write
carries the session's CSRF header.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bishui.ingest.upload import COLUMNS, FIELD_ZH, REQUIRED
from bishui.web.accounts import ACCOUNT_ROLES, ROLES
from bishui.web.api.uploads import UPLOADERS
from bishui.web.auth import Principal, requires
from bishui.web.i18n import LANGS, MESSAGES, language
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

NAV.extend(
    [NavItem("/upload", "nav.upload", UPLOADERS), NavItem("/users", "nav.users", ("admin",))]
)
NAV.sort(key=lambda n: n.path == "/docs")  # keep the API docs link last

MESSAGES.update(
    {
        "nav.upload": ("数据上传", "Upload data"),
        "nav.users": ("用户管理", "Users"),
        "upload.title": ("手工与实验室数据上传", "Upload manual and laboratory data"),
        "upload.intro": (
            "上传 CSV 或 Excel 文件，每行一个监测值。先预览检查全部行；"
            "只有全部行通过检查时才能提交，"
            "有任何一行出错则整个文件都不入库。",
            "Upload a CSV or Excel file, one value per row. The preview checks every row; the "
            "file can be committed only when every row passes — one bad row and nothing is "
            "stored.",
        ),
        "upload.columns": ("列（中文或英文列名）", "Columns (Chinese or English names)"),
        "upload.required": ("必填", "required"),
        "upload.limit": ("文件大小上限", "Largest file"),
        "upload.file": ("文件", "File"),
        "upload.preview": ("预览检查", "Check (preview)"),
        "upload.commit": ("提交入库", "Commit"),
        "upload.errors": ("行错误", "Row errors"),
        "upload.row": ("行号", "Row"),
        "upload.field": ("字段", "Field"),
        "upload.rule": ("规则", "Rule"),
        "upload.value": ("值", "Value"),
        "upload.ok_rows": ("通过检查的行数：", "Rows that pass: "),
        "upload.nothing": ("有错误，未入库任何数据。", "There are errors: nothing was stored."),
        "upload.stored": ("已入库", "Stored"),
        "upload.duplicate": (
            "（该文件此前已上传，数据未变）",
            "(uploaded before: nothing changed)",
        ),
        "upload.first_rows": ("前 20 行", "First 20 rows"),
        "upload.log": ("上传记录", "Upload log"),
        "upload.manual": ("手工录入", "Enter values by hand"),
        "upload.manual_note": (
            "录入一个监测值：按与文件相同的规则检查并入库（作为一行的文件记录上传人）。",
            "One value: checked and stored by the same rules as a file (recorded as a one-row "
            "file with its uploader).",
        ),
        "upload.too_big": ("文件超过大小上限", "The file is over the size limit"),
        "upload.at": ("时间", "Time"),
        "upload.user": ("上传人", "Uploaded by"),
        "upload.outcome": ("结果", "Outcome"),
        "upload.rows": ("行数", "Rows"),
        "users.title": ("用户管理", "User management"),
        "users.list": ("用户列表", "Accounts"),
        "users.create": ("新建用户", "New account"),
        "users.username": ("用户名", "Username"),
        "users.display_name": ("姓名", "Name"),
        "users.password": ("密码", "Password"),
        "users.role": ("角色", "Role"),
        "users.region": ("区县（行政区划代码）", "County (region code)"),
        "users.enterprise": ("企业（统一社会信用代码）", "Enterprise (USCC)"),
        "users.active": ("状态", "State"),
        "users.enabled": ("启用", "active"),
        "users.disabled": ("停用", "disabled"),
        "users.actions": ("操作", "Actions"),
        "users.disable": ("停用", "Disable"),
        "users.enable": ("启用", "Enable"),
        "users.reset": ("重置密码", "Reset password"),
        "users.change": ("修改角色", "Change role"),
        "users.save": ("保存", "Save"),
        "users.audit": ("账号变更记录", "Account changes"),
        "users.actor": ("操作人", "By"),
        "users.action": ("变更", "Change"),
        "users.detail": ("内容", "Detail"),
        "users.password_rule": (
            "8–256 个字符，不能与用户名相同，不能是常见或易猜的密码。",
            "8–256 characters, not the username, not a common or guessable password.",
        ),
        "users.new_password": ("新密码", "New password"),
        "users.done": ("已完成", "Done"),
        "public.advice": ("健康提示与建议措施", "Health advice and recommended measures"),
        "public.health_effect": ("对健康影响情况", "Health effect"),
        "public.measures": ("建议采取的措施", "Recommended measures"),
        "public.level": ("级别", "Level"),
        "public.advice_note": (
            "按数据日期适用的标准版本：{citation}。",
            "Text of the edition in force on the data's date: {citation} (Chinese only).",
        ),
        "public.trend": ("站点 24 小时趋势", "A station's last 24 hours"),
        "public.trend_note": (
            "最近 24 个已结束小时的 AQI 与首要污染物，"
            "每小时以其结束时刻标注（如 09:00–10:00 记为 10:00）。",
            "AQI and primary pollutant of the last 24 complete hours, each labelled by its end "
            "(09:00–10:00 is 10:00).",
        ),
        "public.primary": ("首要污染物", "Primary pollutant"),
        "public.now_advice": ("当前健康提示", "Current advice"),
        "public.sensitive": ("敏感人群", "Sensitive groups"),
    }
)

#: Actions of the account audit, by language.
AUDIT_ACTIONS = {
    "create": ("新建", "created"),
    "disable": ("停用", "disabled"),
    "enable": ("启用", "enabled"),
    "reset_password": ("重置密码", "password reset"),
    "change_role": ("修改角色", "role changed"),
    "unlock": ("解除锁定", "unlocked"),
}
#: Periods of a value (``bishui.store.PERIODS``), by language.
PERIOD_NAMES = {
    "rt": ("实时", "real-time"),
    "min": ("分钟", "minute"),
    "hour": ("小时", "hour"),
    "day": ("日", "day"),
}
#: Outcomes of the upload log, by language.
OUTCOMES = {
    "stored": ("已入库", "stored"),
    "duplicate": ("重复文件", "duplicate"),
    "refused": ("已拒绝", "refused"),
}


@router.get("/upload", response_class=HTMLResponse)
def upload_page(
    request: Request, p: Annotated[Principal, requires(*UPLOADERS, scope="scoped")]
) -> HTMLResponse:
    """The upload form: choose a file, preview (every row checked), commit."""
    lang = language(request, request.app.state.web.settings.language)
    i = LANGS.index(lang)
    columns = [
        {"name": name, "zh": FIELD_ZH[name], "en": aliases[0], "required": name in REQUIRED}
        for name, aliases in COLUMNS.items()
    ]
    limit = request.app.state.web.settings.max_upload_bytes
    config = {
        "limit": limit,
        "outcomes": {k: v[i] for k, v in OUTCOMES.items()},
        "periods": {k: v[i] for k, v in PERIOD_NAMES.items()},
        "fields": FIELD_ZH if lang == "zh" else {k: k for k in FIELD_ZH},
    }
    return render(
        request, "upload.html",
        {"columns": columns, "limit_mib": round(limit / 1024 / 1024, 1), "config": config},
        principal=p,
    )  # fmt: skip


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, p: Annotated[Principal, requires("admin")]) -> HTMLResponse:
    """Accounts: list, create, disable / enable, reset a password, change role and scope."""
    lang = language(request, request.app.state.web.settings.language)
    i = LANGS.index(lang)
    config = {
        "roles": {r: ROLES[r][i] for r in ACCOUNT_ROLES},
        "actions": {k: v[i] for k, v in AUDIT_ACTIONS.items()},
        "me": p.username,
    }
    return render(request, "users.html", {"config": config}, principal=p)
