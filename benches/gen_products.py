#!/usr/bin/env python3
"""Writes N generated product rows (~250 bytes each) as CSV to stdout: text with commas, quotes
and unicode, numbers, booleans and a JSON cell. Usage: gen_products.py N > products.csv"""
import csv
import sys

ADJECTIVES = ["Steel", "Café", "Ünïcode", "Smart", 'Eco "Pro"', "Mini, compact"]


def main() -> None:
    rows = int(sys.argv[1])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "name", "price", "in_stock", "stock", "tags", "description"])
    for i in range(rows):
        writer.writerow([
            f"sku-{i:08d}",
            f"{ADJECTIVES[i % len(ADJECTIVES)]} espresso machine №{i}, 15 bar",
            f"{10 + i % 990}.{i % 100:02d}",
            "true" if i % 2 == 0 else "false",
            str(i % 500),
            f'["coffee","kitchen",{{"rank":{i % 7}}}]',
            f'Brews "real" espresso, steams milk; 1.5 l tank — ☕ model {i}. Ships in 2–3 days, free returns within 30 days, 2-year warranty included. Colour: matte black or brushed steel.',
        ])


if __name__ == "__main__":
    main()
