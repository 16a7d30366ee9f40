"""The legal case file as PDF (fpdf2), with a CJK font embedded so Chinese renders and can
be searched and extracted: WenQuanYi Micro Hei from Debian's ``fonts-wqy-microhei``
(``MOBILEND_PDF_FONT`` names another TrueType/TTC file; the same font as the borrower's
contract and receipt PDFs, ``adapters.documents.pdf.font_path``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from mobilend.adapters.documents.pdf import font_path
from mobilend.app.collections.ports import CaseFileData


class PdfCaseFileRenderer:
    def __init__(self, font: Path | None = None) -> None:
        self._font = font

    def render(self, data: CaseFileData) -> bytes:
        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(True, margin=15)
        font = self._font or font_path()
        pdf.add_font("cjk", "", str(font), collection_font_number=0)
        pdf.set_title(f"Case file {data.case.case_id}")
        pdf.add_page()
        writer = _Writer(pdf)
        case = data.case
        writer.title("催收案件材料 Collection case file")
        writer.pairs(
            [
                ("案件编号 Case", case.case_id),
                ("借款编号 Loan", case.loan_id),
                ("状态 Status", f"{case.status.value} / {case.placement.value}"),
                ("逾期天数 Days past due", f"{case.dpd} ({case.bucket})"),
                ("欠款 Owed (CNY)", case.owed.format()),
                ("已回收 Collected (CNY)", case.collected.format()),
                ("生成日期 Generated", data.generated_on.isoformat()),
            ]
        )
        writer.heading("借款人 Borrower")
        writer.pairs(
            [
                ("姓名 Name", data.borrower_name or "-"),
                ("身份证 ID", data.borrower_id_masked or "-"),
                ("手机 Phone", data.phone_masked or "-"),
            ]
        )
        writer.heading("合同摘要 Contract snapshot")
        writer.pairs([(k, v or "-") for k, v in data.contract.items()])
        if data.contract_body:
            writer.paragraph(data.contract_body)
        writer.heading("还款计划 Schedule")
        writer.table(
            ["期 n", "到期 due", "本金 principal", "利息 interest", "费用 fees", "罚息 penalty", "已还 paid", "状态 status"],
            [[r["n"], r["due_date"], r["principal"], r["interest"], r["fees"], r["penalty"], r["paid"], r["status"]] for r in data.schedule],
        )  # fmt: skip
        writer.heading("账务明细 Ledger statement")
        writer.table(
            ["日期 date", "类型 kind", "科目 account", "金额 amount"],
            [[r["date"], r["kind"], r["account"], r["amount"]] for r in data.ledger],
        )
        writer.pairs([(f"余额 {k}", v) for k, v in data.balances.items()])
        writer.heading("还款记录 Payment history")
        writer.table(
            ["日期 date", "金额 amount", "渠道 channel"],
            [[r["date"], r["amount"], r["channel"]] for r in data.payments] or [["-", "-", "-"]],
        )
        writer.heading("联系记录 Contact history")
        writer.table(
            ["时间 at", "渠道 channel", "对象 party", "结果 outcome", "录音 recording", "规则 rules"],
            [
                [
                    c.at.strftime("%Y-%m-%d %H:%M"), c.channel.value, c.party.value, c.outcome,
                    c.recording_ref or "-", ",".join(c.rules) or "-",
                ]
                for c in data.contacts
            ] or [["-"] * 6],
        )  # fmt: skip
        writer.heading("承诺还款 Promises to pay")
        writer.table(
            ["日期 made", "金额 amount", "到期 due", "状态 status"],
            [[p.made_on.isoformat(), p.amount.format(), p.due_on.isoformat(), p.status.value] for p in data.promises]
            or [["-"] * 4],
        )  # fmt: skip
        return bytes(pdf.output())


class _Writer:
    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf

    def title(self, text: str) -> None:
        self.pdf.set_font("cjk", size=16)
        self.pdf.cell(0, 10, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font("cjk", size=12)
        self.pdf.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, rows: Sequence[tuple[str, str]]) -> None:
        self.pdf.set_font("cjk", size=9)
        for key, value in rows:
            self.pdf.cell(55, 5.5, key)
            self.pdf.multi_cell(0, 5.5, str(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str) -> None:
        self.pdf.set_font("cjk", size=8)
        self.pdf.multi_cell(0, 4.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.pdf.set_font("cjk", size=7)
        # One face only (the CJK font has no bold): headings are set plain.
        plain = FontFace(emphasis="")
        with self.pdf.table(text_align="LEFT", line_height=4.5, headings_style=plain) as table:
            for values in [header, *rows]:
                row = table.row()
                for value in values:
                    row.cell(str(value))
