"""Writes office files with the libraries most such files come from (python-pptx, openpyxl,
EbookLib, odfpy), for the tests that read them: `office_files.py FOLDER`.

Each file holds one sentence or value found nowhere else, so a search can tell which file and
which slide, sheet or chapter it came from.
"""
import csv
import sys
from pathlib import Path

from ebooklib import epub
from odf.opendocument import OpenDocumentText
from odf.text import H, P
from openpyxl import Workbook
from pptx import Presentation
from pptx.util import Inches

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

# A deck: the lighthouse budget is on slide 3, a speaker note on slide 2.
deck = Presentation()
title = deck.slides.add_slide(deck.slide_layouts[0])
title.shapes.title.text = "Project Heron"
title.placeholders[1].text = "Board review, spring"
agenda = deck.slides.add_slide(deck.slide_layouts[1])
agenda.shapes.title.text = "Agenda"
agenda.placeholders[1].text = "Pilot sites\nBudget\nRisks"
agenda.notes_slide.notes_text_frame.text = "Remind the board that the pilot starts in Lisbon in March."
budget = deck.slides.add_slide(deck.slide_layouts[5])
budget.shapes.title.text = "Budget"
table = budget.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(1.5)).table
for r, (item, cost) in enumerate([("Item", "Cost"), ("Lighthouse lamp retrofit", "48,000 euros"), ("Survey drones", "12,500 euros")]):
    table.cell(r, 0).text = item
    table.cell(r, 1).text = cost
deck.save(out / "heron.pptx")

# A workbook with two sheets.
book = Workbook()
sales = book.active
sales.title = "Sales"
sales.append(["Region", "Quarter", "Revenue"])
sales.append(["Nordics", "Q1", 1200])
sales.append(["Iberia", "Q1", 950])
staff = book.create_sheet("Staff")
staff.append(["Name", "Role", "Office"])
staff.append(["Ingrid Halvorsen", "Chief Cartographer", "Tromsø"])
staff.append(["Tomás Ferreira", "Drone Pilot", "Porto"])
book.save(out / "heron.xlsx")

# A CSV as German spreadsheets write it: semicolons and decimal commas.
with open(out / "lieferanten.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, delimiter=";")
    w.writerow(["Lieferant", "Stadt", "Betrag"])
    w.writerow(["Glaserei Albrecht", "Lübeck", "1.250,50"])
    w.writerow(["Leuchtmittel Krause", "Rostock", "310,00"])

# An ebook of two chapters.
book = epub.EpubBook()
book.set_identifier("heron-keeper")
book.set_title("The Lighthouse Keeper")
book.set_language("en")
chapters = []
for i, (name, text) in enumerate([
    ("Arrival", "Marta reached the island on a grey morning and counted the steps to the lamp room."),
    ("The Storm", "During the storm the lamp was fuelled with whale oil until the spring of 1892."),
], start=1):
    chapter = epub.EpubHtml(title=name, file_name=f"chapter{i}.xhtml", lang="en")
    chapter.content = f"<html><body><h1>{name}</h1><p>{text}</p></body></html>"
    book.add_item(chapter)
    chapters.append(chapter)
book.toc = chapters
book.add_item(epub.EpubNcx())
book.add_item(epub.EpubNav())
book.spine = ["nav", *chapters]
epub.write_epub(str(out / "keeper.epub"), book)

# An OpenDocument text.
odt = OpenDocumentText()
odt.text.addElement(H(outlinelevel=1, text="Wartungsbericht"))
odt.text.addElement(P(text="Die Linse des Leuchtturms wurde im Oktober poliert und neu versiegelt."))
odt.save(str(out / "wartung.odt"))
