"""Applies PlatformTerms events: each platform's share by date (``address(0)``: the default)
becomes a PlatformShare row, so a database rebuilt from the chain splits revenue as the original."""

import logging
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, select

from ledger.models import PlatformShare

log = logging.getLogger(__name__)


def apply(session: Session, name: str, args: dict[str, Any], timestamp: int) -> None:
    if name != "PlatformShareSet":
        return  # role grants and the like
    platform, start, share = args["platform"], int(args["effectiveFrom"]), int(args["shareBps"])
    row = session.exec(select(PlatformShare).where(PlatformShare.platform == platform, PlatformShare.effective_from == start)).first()
    if row is None:
        session.add(PlatformShare(platform=platform, share_bps=share, effective_from=start, set_by_key=0, set_at=datetime.fromtimestamp(timestamp, timezone.utc)))
    elif row.share_bps != share:  # recorded off chain before PlatformTerms existed: the chain wins
        log.warning("platform %s share from %s: %s bps here, %s bps on chain; taking the chain's", platform, start, row.share_bps, share)
        row.share_bps = share
        session.add(row)
