"""HTML to PDF with WeasyPrint (paged CSS: A4, page numbers, page breaks; no browser needed).

WeasyPrint draws text through Pango, a system library: on Debian/Ubuntu
`apt-get install libpango-1.0-0 libpangoft2-1.0-0`. Without it, `render_pdf` raises
`PdfUnavailable` naming what to install.
"""

from __future__ import annotations


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs are missing."""


INSTALL_HINT = "install Pango (Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0)"


def pdf_engine_problem() -> str | None:
    """Why PDFs cannot be made here, or None when they can."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"WeasyPrint cannot load ({exc}); {INSTALL_HINT}"
    return None


def render_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML page (inline CSS and SVG)."""
    problem = pdf_engine_problem()
    if problem is not None:
        raise PdfUnavailable(problem)
    from weasyprint import HTML

    document: bytes = HTML(string=html).write_pdf()
    return document
