//! Accumulates extracted text while recording page and section spans.

use cairn_core::{DocumentKind, ExtractedDocument, PageSpan, SectionSpan};

pub(crate) struct TextBuilder {
    text: String,
    pages: Vec<PageSpan>,
    sections: Vec<SectionSpan>,
    headings: Vec<(u8, String)>,
    section_start: usize,
    title: Option<String>,
}

impl TextBuilder {
    pub fn new() -> Self {
        TextBuilder {
            text: String::new(),
            pages: Vec::new(),
            sections: Vec::new(),
            headings: Vec::new(),
            section_start: 0,
            title: None,
        }
    }

    /// Appends a block of text, separated from the previous one by a blank line.
    pub fn paragraph(&mut self, block: &str) {
        let block = block.trim();
        if block.is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        self.text.push_str(block);
    }

    /// Appends a page; its span covers exactly its text.
    pub fn page(&mut self, number: u32, page_text: &str) {
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        let start = self.text.len();
        self.text.push_str(page_text.trim_end());
        self.pages.push(PageSpan {
            number,
            start,
            end: self.text.len(),
        });
    }

    /// Marks `span` (byte offsets into the text of the page appended last) as a section under
    /// `heading`, such as a table under its title.
    pub fn section_in_page(&mut self, heading: &str, span: std::ops::Range<usize>) {
        let heading = heading.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(page) = self.pages.last() else {
            return;
        };
        let (start, end) = (
            page.start + span.start,
            (page.start + span.end).min(page.end),
        );
        if heading.is_empty() || start >= end {
            return;
        }
        self.sections.push(SectionSpan {
            heading_path: vec![heading],
            start,
            end,
        });
    }

    /// Appends a page that is its own section under `title` (a slide): its span covers the
    /// title and the body. A page without a title ends the section before it.
    pub fn titled_page(&mut self, number: u32, title: Option<&str>, body: &str) {
        self.close_section();
        self.headings.clear();
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        let start = self.text.len();
        self.section_start = start;
        let title = title.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
        if let Some(title) = title.filter(|t| !t.is_empty()) {
            self.text.push_str(&title);
            self.headings.push((1, title));
            if !body.trim().is_empty() {
                self.text.push_str("\n\n");
            }
        }
        self.text.push_str(body.trim());
        self.pages.push(PageSpan {
            number,
            start,
            end: self.text.len(),
        });
    }

    /// Starts a section under a heading of `level` (1 = outermost); the heading text opens it.
    pub fn heading(&mut self, level: u8, heading: &str) {
        let heading = heading.split_whitespace().collect::<Vec<_>>().join(" ");
        if heading.is_empty() {
            return;
        }
        self.close_section();
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        self.section_start = self.text.len();
        self.headings.retain(|(l, _)| *l < level);
        self.headings.push((level, heading.clone()));
        if level == 1 && self.title.is_none() {
            self.title = Some(heading.clone());
        }
        self.text.push_str(&heading);
    }

    fn close_section(&mut self) {
        if self.headings.is_empty() || self.text.len() <= self.section_start {
            return;
        }
        self.sections.push(SectionSpan {
            heading_path: self.headings.iter().map(|(_, h)| h.clone()).collect(),
            start: self.section_start,
            end: self.text.len(),
        });
    }

    pub fn finish(mut self, kind: DocumentKind, title: Option<String>) -> ExtractedDocument {
        self.close_section();
        let furniture = crate::furniture::running_lines(&self.text, &self.pages);
        ExtractedDocument {
            kind,
            title: title.or(self.title),
            text: self.text,
            pages: self.pages,
            sections: self.sections,
            furniture,
            ocr_pages: Vec::new(),
        }
    }
}
