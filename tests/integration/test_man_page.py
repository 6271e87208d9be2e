"""The man page and `vncd --help` document the same flags: every flag --help lists is in the man
page's OPTIONS section, and every flag the OPTIONS section lists is in --help."""

import os
import re

import harness
from harness import VNCD

FLAG = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")

with harness.Test("man_page") as t:
    r = t.run([VNCD, "--help"])
    help_flags = set()
    for line in r.stdout_text.splitlines():
        # Flag lines start with the flag; descriptions may mention others, which must exist too.
        help_flags.update(FLAG.findall(line))
    help_flags.discard("-")

    with open(os.environ["VNCD_MAN_PAGE"]) as f:
        roff = f.read()
    section = roff.split(".SH OPTIONS", 1)
    t.check(len(section) == 2, "the man page has no OPTIONS section")
    options = section[1].split("\n.SH ", 1)[0]
    # Flags are the .TP tag lines: the line after each .TP.
    lines = options.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").splitlines()
    man_flags = set()
    for i, line in enumerate(lines):
        if line.startswith(".TP") and i + 1 < len(lines):
            man_flags.update(FLAG.findall(lines[i + 1]))
    whole_man = roff.replace("\\-", "-")

    t.check(len(man_flags) >= 25, "only %d flags found in the man page: %s" %
            (len(man_flags), sorted(man_flags)))
    missing_in_man = sorted(f for f in help_flags if f not in man_flags)
    missing_in_help = sorted(f for f in man_flags if f not in help_flags)
    t.check(not missing_in_man, "in --help but not in the man page's OPTIONS: %s" % missing_in_man)
    t.check(not missing_in_help, "in the man page's OPTIONS but not in --help: %s" %
            missing_in_help)
    for section_name in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SECURITY", "EXAMPLES",
                         "FILES", "EXIT STATUS", "SEE ALSO"]:
        t.check((".SH " + section_name) in roff or ('.SH "%s"' % section_name) in roff,
                "the man page has no %s section" % section_name)
    t.check("~/.vnc/passwd" in whole_man, "FILES does not mention ~/.vnc/passwd")
    print("ok: %d flags in both" % len(man_flags), flush=True)
