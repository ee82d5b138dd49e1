"""One campaign's figures as the console's funnel page and the API give them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from purl.analytics import abtest
from purl.analytics import funnel as figures
from purl.models import Campaign


@dataclass(frozen=True)
class CampaignReport:
    funnel: figures.Funnel
    by_channel: dict[str, figures.Funnel]
    # The campaign's variants in its order (the first is the control), then any other key
    # links were minted under; a variant without links yet has an empty funnel.
    by_variant: dict[str, figures.Funnel]
    comparisons: list[abtest.Comparison]
    reach: figures.QuizReach
    answers: list[figures.AnswerCounts]
    products: list[figures.ProductClicks]
    # Per offer code shown (offers by rule and the campaign's own), from the offer tallies.
    by_offer: dict[str, figures.Funnel]


def campaign_report(session: Session, campaign: Campaign,
                    options: dict[str, Sequence[str]]) -> CampaignReport:
    """The campaign's funnel whole and split, its A/B test, the quiz's drop-off and answer
    distributions (``options``: the quiz's question ids → option values, in its order) and
    its most clicked products: a handful of reads of the tallies, whatever its size."""
    splits = figures.split_funnels(session, campaign.id)
    counted = splits["variant"]
    own = [v["key"] for v in campaign.variants or []]
    keys = own + sorted(set(counted) - {""} - set(own))
    by_variant = {key: counted.get(key, figures.Funnel()) for key in keys}
    return CampaignReport(
        funnel=splits[""][""], by_channel=splits["channel"], by_variant=by_variant,
        comparisons=abtest.compare_variants(by_variant),
        reach=figures.quiz_reach(session, list(options), campaign_id=campaign.id),
        answers=figures.answer_counts(session, options, campaign_id=campaign.id),
        products=figures.top_products(session, campaign.id),
        by_offer=figures.offer_funnels(session, campaign.id),
    )
