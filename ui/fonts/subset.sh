#!/usr/bin/env bash
# The embedded fonts, cut to the scripts a Russian warehouse terminal shows: Latin with its
# supplements, Cyrillic, Greek (µ, Ω in product names), punctuation, currency (₽), letterlike
# (№), arrows, mathematical signs, control pictures (␝ for GS), shapes and dingbats (✓ ✗).
# The whole DejaVu faces were 1.4 MB of the terminal binary; these are 0.44 MB.
#
#   pip install fonttools==4.68.0
#   ui/fonts/subset.sh /path/to/dejavu-fonts-ttf-2.37/ttf
#
# The fonts keep their names: the Bitstream Vera licence (LICENSE-DejaVu) lets a modified face
# keep any name without the words "Bitstream" and "Vera", and "DejaVu Sans" has neither.
set -euo pipefail
source_dir=${1:?the folder of the original DejaVuSans.ttf and DejaVuSans-Bold.ttf}
here=$(dirname "$0")
ranges="U+0020-007E,U+00A0-017F,U+0300-036F,U+0370-03FF,U+0400-052F,U+2000-206F,U+20A0-20CF"
ranges+=",U+2100-214F,U+2190-21FF,U+2200-22FF,U+2400-243F,U+25A0-25FF,U+2700-27BF,U+FFFD"
for face in DejaVuSans DejaVuSans-Bold; do
  pyftsubset "$source_dir/$face.ttf" --unicodes="$ranges" --layout-features='*' \
    --notdef-outline --name-IDs='*' --name-languages='*' --output-file="$here/$face.ttf"
done
