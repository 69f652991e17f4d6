"""Organization pages for their own members; outsiders get 404."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from certplatform.authz import can_manage, login_required, member_organizations_query, organization_for_member
from certplatform.extensions import db
from certplatform.orgs import bp


@bp.get("/")
@login_required
def mine():
    """The organizations the signed-in user belongs to."""
    orgs = db.session.scalars(member_organizations_query(current_user)).all()
    return render_template("orgs/mine.html", organizations=orgs)


@bp.get("/<slug>/")
@login_required
def detail(slug: str):
    """One organization, for its members; the member list only for those who manage it."""
    org = organization_for_member(slug)
    members = sorted((m.user for m in org.memberships), key=lambda u: u.name_latin.lower())
    return render_template("orgs/detail.html", org=org, members=members, can_manage=can_manage(current_user, org))
