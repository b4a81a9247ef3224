"""The fixed words of the police report, in Korean and in English. The report is a document for
people, not program output: it carries both languages whatever the interface language is."""

from __future__ import annotations

from typing import Final

LANGS: Final = ("ko", "en")

TEXT: Final[dict[str, dict[str, str]]] = {
    "ko": {
        "lang_name": "한국어",
        "title": "디지털 성범죄 사건 보고서 (수사기관 제출용)",
        "notice": (
            "이 보고서는 수사를 위한 단서입니다. 각 주장은 그 근거가 된 메시지와 파일(해시)을 "
            "함께 적었으며, 확실성(관찰됨·추정·불확실)을 표시했습니다. 보고서와 증거 꾸러미에는 "
            "미디어 자체가 들어 있지 않으며(암호화된 사본은 수신자 키가 있을 때만), 얼굴 특징값은 "
            "어디에도 없습니다. 법 조항은 공개 자료를 따른 것으로, 인용 전 국가법령정보센터"
            "(law.go.kr)에서 확인하십시오."
        ),
        "summary": "사건 요약",
        "case": "사건 번호",
        "title_field": "제목",
        "person": "피해자 (가명)",
        "status": "상태",
        "opened": "사건 개시",
        "created": "보고서 작성 (UTC)",
        "created_by": "작성자",
        "tool": "도구",
        "items": "증거 항목",
        "accounts_n": "관련 계정",
        "rooms": "내용이 게시된 방",
        "accounts": "관련 계정과 증거가 뒷받침하는 범죄",
        "no_accounts": "대화방 자료에서 이 사건의 내용과 관련된 계정을 찾지 못했습니다.",
        "account": "계정",
        "names": "표시 이름",
        "offence": "범죄",
        "article": "법 조항",
        "penalty": "법정형",
        "certainty": "확실성",
        "notes": "근거 설명",
        "messages": "근거 메시지",
        "room": "방",
        "message": "메시지",
        "time": "시각 (UTC)",
        "what": "보여 주는 것",
        "text": "메시지 내용",
        "item_list": "관련 항목 (SHA-256)",
        "items_title": "증거 항목",
        "relations": "조작 관계 (같은 장면·얼굴 출처)",
        "relations_about": (
            "한 항목이 다른 항목과 같은 장면에서 얼굴만 바뀌었거나, 얼굴이 다른 사진에서 픽셀 "
            "그대로 옮겨진 경우입니다. 관련 항목의 SHA-256과 발견 위치를 함께 적습니다."
        ),
        "related_item": "관련 항목 (SHA-256)",
        "relation": "관계",
        "picture": "차이 그림",
        "sha256": "SHA-256",
        "kind": "종류",
        "findings": "발견 사항",
        "synthetic": "합성 판정",
        "first_seen": "최초 목격",
        "last_seen": "마지막 목격",
        "media": "미디어",
        "withheld": "제외됨 (미성년자 가능성)",
        "authorised": "미성년자 가능성: 승인에 따라 포함 (관리 기록에 남음)",
        "not_in_package": "미디어 없음 (해시만)",
        "in_package": "증거 꾸러미에 암호화 사본",
        "timeline": "사건 경과",
        "package": "증거 꾸러미",
        "package_folder": "폴더",
        "package_sums": "SHA256SUMS의 SHA-256 (관리 기록에 기록됨)",
        "package_files": "파일 수",
        "package_media": "미디어",
        "custody_head": "관리 기록 헤드",
        "timestamp": "RFC 3161 시점 확인 토큰",
        "no_timestamp": (
            "설정되지 않음: 시점 확인 기관(TSA)이 설정되지 않아 토큰이 없습니다. 관리 기록의 해시 "
            "연결은 그대로 검증할 수 있습니다."
        ),
        "left_out": "꾸러미에서 빠진 항목",
        "verify": (
            "검증: 보고서 폴더에서 `sha256sum -c SHA256SUMS`, evidence 폴더에서도 같은 명령. "
            "evidence/custody/custody.jsonl의 각 항목은 앞 항목의 해시를 담고 있습니다."
        ),
        "custody": "관리 연속성 기록 (발췌)",
        "custody_more": (
            "이 사건과 항목에 관한 기록 {total}건 중 마지막 {shown}건. "
            "전체는 evidence/custody/custody.jsonl."
        ),
        "seq": "순번",
        "actor": "행위자",
        "action": "행위",
        "object": "대상",
        "not_established": "이 증거가 입증하지 않는 것",
        "takedowns": "삭제 요청",
        "none": "—",
        "observed": "관찰됨",
        "inferred": "추정",
        "uncertain": "불확실",
        "name_only": "(id 없이 표시 이름만)",
    },
    "en": {
        "lang_name": "English",
        "title": "Digital sex crime case report (for investigators)",
        "notice": (
            "This report is a lead for investigation. Each claim names the messages and files "
            "(by hash) it rests on and how sure it is (observed, inferred, uncertain). Neither "
            "the report nor the evidence package carries the media itself (encrypted copies only "
            "when a recipient key is given), and no face features appear anywhere. The articles "
            "follow public sources; check them at law.go.kr before quoting."
        ),
        "summary": "Case summary",
        "case": "Case number",
        "title_field": "Title",
        "person": "Victim (alias)",
        "status": "Status",
        "opened": "Case opened",
        "created": "Report written (UTC)",
        "created_by": "Written by",
        "tool": "Tool",
        "items": "Evidence items",
        "accounts_n": "Accounts involved",
        "rooms": "Rooms where the content was posted",
        "accounts": "Accounts involved and the offences the evidence supports",
        "no_accounts": "No account connected with this case's content was found in chat data.",
        "account": "Account",
        "names": "Display names",
        "offence": "Offence",
        "article": "Article",
        "penalty": "Penalty",
        "certainty": "Certainty",
        "notes": "Basis",
        "messages": "Messages behind it",
        "room": "Room",
        "message": "Message",
        "time": "Time (UTC)",
        "what": "What it shows",
        "text": "Message text",
        "item_list": "Items behind it (SHA-256)",
        "items_title": "Evidence items",
        "relations": "Manipulation relations (same scene, source of the face)",
        "relations_about": (
            "An item shows the same scene as another with only the face changed, or its face "
            "was taken pixel for pixel from another photo. The other item's SHA-256 and where "
            "it was sighted are given."
        ),
        "related_item": "Related item (SHA-256)",
        "relation": "Relation",
        "picture": "Difference picture",
        "sha256": "SHA-256",
        "kind": "Kind",
        "findings": "Findings",
        "synthetic": "Synthetic verdict",
        "first_seen": "First seen",
        "last_seen": "Last seen",
        "media": "Media",
        "withheld": "withheld (possible minor)",
        "authorised": "possible minor: included by authorisation (in the custody log)",
        "not_in_package": "no media (hashes only)",
        "in_package": "encrypted copy in the evidence package",
        "timeline": "Timeline",
        "package": "Evidence package",
        "package_folder": "Folder",
        "package_sums": "SHA-256 of SHA256SUMS (as the custody log records it)",
        "package_files": "Files",
        "package_media": "Media",
        "custody_head": "Custody head",
        "timestamp": "RFC 3161 timestamp token",
        "no_timestamp": (
            "not configured: no timestamp authority (TSA) is set up, so there is no token. The "
            "custody hash chain can still be verified."
        ),
        "left_out": "Items left out of the package",
        "verify": (
            "To verify: `sha256sum -c SHA256SUMS` in the report folder, and the same in the "
            "evidence folder. Each entry of evidence/custody/custody.jsonl carries the hash of "
            "the one before it."
        ),
        "custody": "Chain of custody (extract)",
        "custody_more": (
            "The last {shown} of {total} entries about this case and its items; all are in "
            "evidence/custody/custody.jsonl."
        ),
        "seq": "Seq",
        "actor": "Actor",
        "action": "Action",
        "object": "Object",
        "not_established": "What the evidence does not establish",
        "takedowns": "Takedown requests",
        "none": "—",
        "observed": "observed",
        "inferred": "inferred",
        "uncertain": "uncertain",
        "name_only": "(display name only, no id)",
    },
}
