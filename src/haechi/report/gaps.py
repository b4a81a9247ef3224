"""What the evidence does not establish, said as plainly as what it does: the fixed limits of
chat exports and of haechi's analysis, and the ones this case's own accounts and items raise
(a name-only account, a creator candidate, viewers, items whose synthetic verdict is uncertain,
possible minors)."""

from __future__ import annotations

from collections.abc import Sequence

from haechi.network.model import CANNOT_SHOW, CANNOT_SHOW_KO
from haechi.report.model import AccountLine, Gap, ItemLine

SYNTHETIC_SURE = ("likely_synthetic", "likely_manipulated")

ALWAYS: tuple[Gap, ...] = (
    Gap(
        "계정 뒤에 있는 실제 사람의 신원. 이 보고서의 계정은 내보내기 파일의 계정 id와 표시 "
        "이름일 뿐이며, 누가 그 계정을 썼는지는 플랫폼 자료 요청과 수사로만 밝힐 수 있습니다.",
        "The identity of any real person behind an account. Accounts here are the export's ids "
        "and display names; who used an account can only be established from platform records "
        "and investigation.",
    ),
    Gap(
        "나이. haechi는 나이를 추정하지 않습니다. '미성년자 가능성' 표시는 검토자의 판단이며 "
        "나이를 입증하지 않고, 표시가 없다고 해서 성인임이 입증되는 것도 아닙니다.",
        "Ages. haechi estimates no ages. A 'possible minor' flag is a reviewer's judgement, not "
        "an established age; an item without the flag is not established to show an adult.",
    ),
    Gap(
        "동의 여부. 영상물의 대상자가 동의하지 않았다는 사실은 피해자의 진술로 확인해야 합니다.",
        "Consent. That the person shown did not consent is for the victim's statement to "
        "establish, not for these files.",
    ),
    Gap(
        "얼굴 일치는 유사도 점수이며 신원 확인이 아닙니다. 일치 항목은 사람이 확인해야 합니다.",
        "A face match is a similarity score, not an identification; a person confirms each one.",
    ),
)


def not_established(accounts: Sequence[AccountLine], items: Sequence[ItemLine]) -> tuple[Gap, ...]:
    """The gaps of this report: the fixed ones (`ALWAYS`), then one for each kind of claim
    or item in it that a reader could take for more than it shows."""
    gaps = list(ALWAYS)
    keys = {o.offence.key for a in accounts for o in a.offences}
    if "possessing" in keys:
        gaps.append(
            Gap(
                "시청·소지로 적힌 계정이 파일을 열거나 내려받거나 저장했다는 사실. 내보내기에는 "
                "게시와 참여만 남으며, 이 계정들은 내용이 게시된 방에 있었다는 것만 보여 줍니다.",
                "That an account listed for possessing or viewing opened, downloaded or saved a "
                "file. Exports record posts and presence, not views: these accounts are shown to "
                "have been in a room where the content was posted, no more.",
            )
        )
    if "making" in keys:
        gaps.append(
            Gap(
                "제작 추정 계정이 실제로 만들었다는 사실. 이 자료에서 가장 먼저 올린 계정일 "
                "뿐이며, 내용은 이 자료보다 오래되었을 수 있습니다.",
                "That a creator candidate made the content: it is the earliest poster seen in "
                "this corpus, and the content may be older than the corpus.",
            )
        )
    if "threats" in keys:
        gaps.append(
            Gap(
                "협박 문구가 이 영상물을 이용한 것인지, 누구를 향한 것인지. 문구만으로 읽었습니다.",
                "Whether threat language used this material, or whom it was aimed at: it was "
                "read from the words alone.",
            )
        )
    if any(a.name_only for a in accounts):
        gaps.append(
            Gap(
                "'name:'으로 표시된 계정이 하나의 계정이라는 사실. 내보내기에 id 없이 표시 이름만 "
                "있어, 같은 이름의 다른 계정일 수 있습니다.",
                "That an account shown as 'name:…' is one account: the export names it by "
                "display name only, which others may carry.",
            )
        )
    for it in items:
        if it.kind in ("image", "video") and it.synthetic not in SYNTHETIC_SURE:
            verdict = it.synthetic or "분석 안 됨"
            verdict_en = it.synthetic or "not analysed"
            gaps.append(
                Gap(
                    f"항목 {it.sha256[:12]}이 합성물인지 여부 (판정: {verdict}).",
                    f"Whether item {it.sha256[:12]} is synthetic (verdict: {verdict_en}).",
                )
            )
    for ko, en in zip(CANNOT_SHOW_KO, CANNOT_SHOW, strict=True):
        gaps.append(Gap(f"내보내기 자료의 한계: {ko}.", f"What an export cannot show: {en}."))
    return tuple(gaps)
