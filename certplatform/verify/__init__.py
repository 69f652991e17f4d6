from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/verify")
api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

from certplatform.verify import api, views  # noqa: E402, F401
