from flask import Blueprint

bp = Blueprint("messages", __name__, url_prefix="/messages")

from certplatform.messages import views  # noqa: E402, F401
