"""Assessments (客户评估): questionnaire answers score a lead; the weighted total sets its level."""

from __future__ import annotations

from chalicelib.db import leads as leads_db
from chalicelib.domain import clock, ids
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.leads import load_for_change, require_live
from chalicelib.errors import ValidationFailedError
from chalicelib.schemas.leads import HistoryEntry
from chalicelib.schemas.settings import AssessmentAnswerRequest, AssessmentConfig, AssessmentResult


def level_for(config: AssessmentConfig, total: float) -> str | None:
    """The highest level whose threshold the total has reached."""
    reached = [lv for lv in config.levels if total >= lv.min_score]
    return max(reached, key=lambda lv: lv.min_score).level if reached else None


def weighted_total(config: AssessmentConfig, scores: dict[str, float]) -> float:
    weights = {q.id: q.weight for q in config.questionnaires}
    return round(sum(weights.get(qid, 0) * score for qid, score in scores.items()), 4)


def answer(principal: Principal, lead_id: str, request: AssessmentAnswerRequest) -> AssessmentResult:
    lead, version = load_for_change(principal, lead_id)  # 404 before anything else is said
    require_live(lead)
    config = tenant_config.load(principal.tenant).assessment
    questionnaire = next((q for q in config.questionnaires if q.id == request.questionnaire_id), None)
    if questionnaire is None:
        raise ValidationFailedError(
            "Unknown questionnaire.", details=[{"field": "questionnaire_id", "message": "no such questionnaire"}]
        )
    score = 0.0
    for question in questionnaire.questions:
        chosen = request.answers.get(question.id)
        option = next((o for o in question.options if o.id == chosen), None)
        if option is None:
            raise ValidationFailedError(
                f"Answer question {question.id!r} with one of its options.",
                details=[{"field": f"answers.{question.id}", "message": "missing or unknown option"}],
            )
        score += option.score
    extra = set(request.answers) - {q.id for q in questionnaire.questions}
    if extra:
        raise ValidationFailedError(
            "Unknown questions: " + ", ".join(sorted(extra)),
            details=[{"field": f"answers.{q}", "message": "no such question"} for q in sorted(extra)],
        )
    now = clock.now()
    assessments = dict(lead.assessments)
    assessments[questionnaire.id] = {
        "answers": request.answers,
        "score": score,
        "at": clock.iso(now),
        "by": principal.user_id,
    }
    total = weighted_total(config, {qid: a["score"] for qid, a in assessments.items()})
    level = level_for(config, total)
    updated = lead.model_copy(
        update={"assessments": assessments, "assessment_total": total, "level": level, "updated_at": now}
    )
    history = [
        (
            HistoryEntry(
                at=now,
                by=principal.user_id,
                action="assessed",
                details={"questionnaire_id": questionnaire.id, "score": score, "total": total},
            ),
            ids.new_id(),
        )
    ]
    if level != lead.level:
        threshold = next((lv.min_score for lv in config.levels if lv.level == level), None)
        history.append(
            (
                HistoryEntry(
                    at=now,
                    by=principal.user_id,
                    action="level_changed",
                    details={
                        "from": lead.level,
                        "to": level,
                        "total": total,
                        "threshold": threshold,
                        "reason": f"weighted assessment total {total} reached {threshold}"
                        if level
                        else f"weighted assessment total {total} is below every level",
                    },
                ),
                ids.new_id(),
            )
        )
    leads_db.save(principal.tenant, updated, version, history)
    return AssessmentResult(
        lead_id=lead.id,
        questionnaire_id=questionnaire.id,
        score=score,
        total=total,
        level=level,
        previous_level=lead.level,
        level_changed=level != lead.level,
    )
