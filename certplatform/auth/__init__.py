from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from certplatform.auth import views  # noqa: E402, F401
