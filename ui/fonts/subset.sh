#!/usr/bin/env bash
# The embedded fonts, cut to what a Russian warehouse terminal shows: Latin with Latin-1 and
# Latin Extended-A (µ, ×, names from the suppliers' catalogues), the Russian, Ukrainian and
# Belarusian Cyrillic letters, punctuation, € ₽ № ™, arrows, − ≈ ≠ ≤ ≥, the control pictures
# (␝ for GS), circles and squares (●) and ✓ ✗. The whole DejaVu faces were 1.47 MB of the
# terminal binary, these are 0.16 MB: what pays for zxing-cpp under the 20 MB target
# (BENCHMARKS.md, "The device build"). A glyph outside these ranges draws as the empty box.
#
#   pip install fonttools==4.68.0
#   ui/fonts/subset.sh /path/to/dejavu-fonts-ttf-2.37/ttf
#
# The fonts keep their names: the Bitstream Vera licence (LICENSE-DejaVu) lets a modified face
# keep any name without the words "Bitstream" and "Vera", and "DejaVu Sans" has neither.
set -euo pipefail
source_dir=${1:?the folder of the original DejaVuSans.ttf and DejaVuSans-Bold.ttf}
here=$(dirname "$0")
ranges="U+0020-007E,U+00A0-017F,U+0400-045F,U+0490-0491,U+2010-2027,U+2030-203A,U+20AC,U+20BD"
ranges+=",U+2116,U+2122,U+2190-2199,U+2212,U+2248,U+2260,U+2264-2265,U+2400-243F,U+25A0-25CF"
ranges+=",U+2713-2717,U+FFFD"
for face in DejaVuSans DejaVuSans-Bold; do
  pyftsubset "$source_dir/$face.ttf" --unicodes="$ranges" --layout-features='*' \
    --notdef-outline --name-IDs='*' --name-languages='*' --output-file="$here/$face.ttf"
done
