from flask import Blueprint

bp = Blueprint("certs", __name__)

from certplatform.certs import views  # noqa: E402, F401
