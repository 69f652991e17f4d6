from flask import Blueprint

bp = Blueprint("company", __name__, url_prefix="/company")

from certplatform.company import views  # noqa: E402, F401
