from flask import Blueprint

bp = Blueprint("exams", __name__, url_prefix="/exams")

from certplatform.exams import views  # noqa: E402, F401
