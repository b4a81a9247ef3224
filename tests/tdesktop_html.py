"""Telegram Desktop HTML chat exports written as tdesktop's own HTML writer lays them out (its
page head, day separators, service and default messages, replies, media blocks), for the tests
of the HTML reader and of the sources and the evidence built on it."""

from __future__ import annotations

from pathlib import Path

HTML_HEAD = """<!DOCTYPE html>
<html>

 <head>

  <meta charset="utf-8"/>
<title>Exported Data</title>

  <meta name="viewport" content="width=device-width, initial-scale=1.0"/>

  <link href="{base}css/style.css" rel="stylesheet"/>

  <script src="{base}js/script.js" type="text/javascript">

  </script>

 </head>

 <body onload="CheckLocation();">

  <div class="page_wrap">

   <div class="page_header">

    <a class="content block_link" href="{back}" onclick="return GoBack(this)">

     <div class="text bold">
{title}
     </div>

    </a>

   </div>

   <div class="page_body chat_page">

    <div class="history">
"""

HTML_TAIL = """
    </div>

   </div>

  </div>

 </body>

</html>
"""


def day_separator(mid: int, text: str) -> str:
    return f"""
     <div class="message service" id="message-{mid}">

      <div class="body details">
{text}
      </div>

     </div>
"""


def service_message(mid: int, text: str, photo: str | None = None) -> str:
    pic = ""
    if photo:
        pic = f"""
      <div class="userpic_wrap">

       <a class="userpic_link" href="{photo}">

        <img class="userpic" src="{photo}_thumb.jpg" style="width: 60px; height: 60px"/>

       </a>

      </div>
"""
    return f"""
     <div class="message service" id="message{mid}">

      <div class="body details">
{text}
      </div>
{pic}
     </div>
"""


FWD_DATE = " 12.03.2024 20:00:00"


def default_message(
    mid: int,
    date: str,
    body: str,
    *,
    name: str | None = None,
    forwarded: str | None = None,
    forwarded_name: str | None = None,
) -> str:
    joined = "" if name is not None else " joined"
    userpic = ""
    from_name = ""
    if name is not None:
        userpic = f"""
      <div class="pull_left userpic_wrap">

       <div class="userpic userpic2" style="width: 42px; height: 42px">

        <div class="initials" style="line-height: 42px">
{name[:1]}
        </div>

       </div>

      </div>
"""
        from_name = f"""
       <div class="from_name">
{name}
       </div>
"""
    inner = body
    if forwarded is not None:
        fwd_name = ""
        if forwarded_name is not None:
            fwd_name = f"""
        <div class="from_name">
{forwarded_name}<span class="date details" title="12.03.2024 20:00:00 UTC+09:00">{FWD_DATE}</span>
        </div>
"""
        inner = f"""
       <div class="pull_left forwarded userpic_wrap">

        <div class="userpic userpic3" style="width: 42px; height: 42px">

         <div class="initials" style="line-height: 42px">
S
         </div>

        </div>

       </div>

       <div class="forwarded body">
{fwd_name}{body}
       </div>
"""
    return f"""
     <div class="message default clearfix{joined}" id="message{mid}">
{userpic}
      <div class="body">

       <div class="pull_right date details" title="{date}">
{date[11:16]}
       </div>
{from_name}{inner}
      </div>

     </div>
"""


def text_div(html: str) -> str:
    return f"""
       <div class="text">
{html}
       </div>
"""


def onclick(target: int) -> str:
    return f'onclick="return GoToMessage({target})"'


def reply_to(target: int, page: str = "") -> str:
    return f"""
       <div class="reply_to details">
In reply to <a href="{page}#go_to_message{target}" {onclick(target)}>this message</a>
       </div>
"""


def media_wrap(cls: str, href: str, inner: str = "") -> str:
    return f"""
       <div class="media_wrap clearfix">

        <a class="{cls} clearfix pull_left" href="{href}">
{inner}
        </a>

       </div>
"""


def generic_media(classes: str, title: str, description: str, status: str, href: str | None) -> str:
    open_tag = (
        f'<a class="media clearfix pull_left block_link {classes}" href="{href}">'
        if href
        else f'<div class="media clearfix pull_left {classes}">'
    )
    close_tag = "</a>" if href else "</div>"
    return f"""
       <div class="media_wrap clearfix">

        {open_tag}

         <div class="fill pull_left">

         </div>

         <div class="body">

          <div class="title bold">
{title}
          </div>

          <div class="description">
{description}
          </div>

          <div class="status details">
{status}
          </div>

         </div>

        {close_tag}

       </div>
"""


def write_html_chat(folder: Path, base: str, media_prefix: str, title: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photos").mkdir(exist_ok=True)
    (folder / "photos" / "photo_1@12-03-2024_21-06-00.jpg").write_bytes(b"jpg")
    p = media_prefix
    page1 = (
        HTML_HEAD.format(base=base, back=f"{base}export_results.html", title=title)
        + day_separator(1, "12 March 2024")
        + service_message(100, "Alice created group &laquo;Leak Room&raquo; with members Bob")
        + default_message(
            101,
            "12.03.2024 21:04:11 UTC+09:00",
            text_div(
                'Hello &amp; welcome <a href="https://example.org/x?a=1&amp;b=2">'
                "https://example.org/x?a=1&amp;b=2</a><br>second <strong>line</strong> "
                '<a href="https://t.me/alice">@alice</a> <a href="mailto:x@y.z">x@y.z</a>'
            ),
            name="Alice Kim",
        )
        + default_message(102, "12.03.2024 21:05:00 UTC+09:00", text_div("still Alice"))
        + default_message(
            103,
            "12.03.2024 21:06:00 UTC+09:00",
            reply_to(101)
            + media_wrap(
                "photo_wrap",
                f"{p}photos/photo_1@12-03-2024_21-06-00.jpg",
                f'<img class="photo" src="{p}photos/photo_1_thumb.jpg" '
                'style="width: 260px; height: 195px"/>',
            )
            + text_div("look at this"),
            name="Bob",
        )
        + default_message(
            104,
            "12.03.2024 21:07:00 UTC+09:00",
            media_wrap("video_file_wrap", f"{p}video_files/v.mp4") + text_div("forwarded text"),
            name="Bob",
            forwarded="yes",
            forwarded_name="Some Channel ",
        )
        + default_message(
            105,
            "12.03.2024 21:07:00 UTC+09:00",
            text_div("more forwarded"),
            forwarded="yes",
        )
        + HTML_TAIL
    )
    page2 = (
        HTML_HEAD.format(base=base, back=f"{base}export_results.html", title=title)
        + day_separator(2, "13 March 2024")
        + default_message(
            106,
            "13.03.2024 09:00:00 UTC+09:00",
            generic_media(
                "media_video",
                "Video message",
                "Not included, change data exporting settings to download.",
                "00:12, 1.2 MB",
                None,
            ),
            name="Carol via @gifbot",
        )
        + default_message(
            107,
            "13.03.2024 09:01:00 UTC+09:00",
            reply_to(103, "messages.html")
            + generic_media("media_file", "doc.pdf", "", "12 KB", f"{p}files/doc.pdf")
            + generic_media(
                "media_location", "Location", "", "1, 2", "https://maps.google.com/maps?q=1,2"
            ),
        )
        + service_message(108, "Bob invited Dave", photo=f"{p}photos/group.jpg")
        + service_message(
            110, 'Bob pinned <a href="#go_to_message106" onclick="x">this message</a>'
        )
        + default_message(
            109,
            "13.03.2024 10:00:00",
            media_wrap("photo_wrap", f"{p}../../../../etc/passwd") + text_div("escape"),
            name="Eve",
        )
        + HTML_TAIL
    )
    (folder / "messages.html").write_text(page1, encoding="utf-8")
    (folder / "messages2.html").write_text(page2, encoding="utf-8")
