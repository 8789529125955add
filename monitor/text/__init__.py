"""Text shared by the stages: plain text from HTML, folding, stems and word rarity."""
