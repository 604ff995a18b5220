#!/usr/bin/env python3
"""Test results as files: what build/test.sh and its stages read and write instead of console text.

Every stage leaves JUnit XML (or TRX) under artifacts/test-results/<stage>/: CTest (--output-junit), the xunit v3
runner (-result-junit), and the checks a stage makes itself, which it records here one case at a time.

  results.py record FILE --suite S --name N --status pass|fail|skip [--message M] [--log PATH]
      appends one test case to the JUnit file FILE (created when missing); a failure quotes the end of --log
  results.py count FILE...
      prints "PASSED FAILED SKIPPED" summed over the files (a suite's own error count is a failure)
  results.py retry-list FILE PATTERN
      prints the test methods (names without a theory's arguments) of FILE's failed cases, one per line, when every
      failure's message matches the regular expression PATTERN; otherwise nothing, and exits 1
  results.py retry-merge FILE RETRY
      each failed case of FILE (JUnit) that the later run RETRY has too is replaced by RETRY's, which notes why
  results.py summary DIR [--stages a,b,...]
      prints, per stage, "NAME: N passed, N failed, N skipped", its skip reasons with their counts and its
      failures with their messages, then the last line "tests: N passed, N failed, N skipped"; exits 1 on any
      failure. A listed stage with no result file counts as one failure: a stage that did not run is never green.
"""
import argparse
import collections
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

Case = collections.namedtuple("Case", "suite name outcome message")  # outcome: passed, failed or skipped
SKIP_LINE = re.compile(r"^\s*skipped: (.+)$", re.MULTILINE)  # how the C tests say why they skip (tests/native)
LOG_TAIL_LINES = 40


def _text(element):
    return (element.text or "").strip() if element is not None else ""


def _junit_cases(root):
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    for suite in suites:
        suite_name = suite.get("name", "")
        errors_listed = 0
        for case in suite.findall("testcase"):
            name = case.get("name", "")
            failure = case.find("failure")
            error = case.find("error")
            skipped = case.find("skipped")
            output = _text(case.find("system-out"))
            if failure is not None or error is not None:
                errors_listed += error is not None
                bad = failure if failure is not None else error
                message = "\n".join(part for part in (bad.get("message", "").strip(), _text(bad)) if part)
                # CTest's failure carries no message: the end of what the case printed says why.
                if not message:
                    message = "\n".join(output.splitlines()[-12:])
                yield Case(suite_name, name, "failed", message)
            elif skipped is not None:
                # CTest's own message is only "SKIP_RETURN_CODE=77"; the case printed its reason.
                reasons = SKIP_LINE.findall(output)
                reason = "; ".join(reasons) if reasons else (_text(skipped) or skipped.get("message", ""))
                yield Case(suite_name, name, "skipped", reason or "(no reason given)")
            else:
                yield Case(suite_name, name, "passed", "")
        # An error outside any test (a class fixture that threw, a crashed collection) is a failure too.
        unlisted = int(suite.get("errors", "0") or 0) - errors_listed
        if unlisted > 0:
            yield Case(suite_name, f"{unlisted} error(s) outside the test cases", "failed",
                       "the runner reported errors that belong to no test; see the stage's log")


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _child(element, *path):
    """The element at PATH below ELEMENT (TRX has a namespace; compare local names), or None."""
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if _local(child.tag) == name), None)
    return element


def _trx_cases(root):
    for result in (element for element in root.iter() if _local(element.tag) == "UnitTestResult"):
        name = result.get("testName", "")
        outcome = result.get("outcome", "")
        message = _text(_child(result, "Output", "ErrorInfo", "Message"))
        if outcome == "Passed":
            yield Case("trx", name, "passed", "")
        elif outcome in ("NotExecuted", "Inconclusive"):
            reason = message or _text(_child(result, "Output", "StdOut"))
            yield Case("trx", name, "skipped", reason or "(no reason given)")
        else:
            yield Case("trx", name, "failed", message or outcome)


def read_cases(path):
    """The test cases of one result file; a file that cannot be read is one failure."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        return [Case(os.path.basename(path), "unreadable result file", "failed", f"{path}: {error}")]
    if root.tag.endswith("TestRun"):
        return list(_trx_cases(root))
    return list(_junit_cases(root))


def count(cases):
    tally = collections.Counter(case.outcome for case in cases)
    return tally["passed"], tally["failed"], tally["skipped"]


def xml_text(text):
    """text without the characters XML 1.0 cannot hold (a log can have NULs): ElementTree writes them as they are, and
    the file could then not be read back."""
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "?", text)


def record(args):
    if os.path.exists(args.file):
        tree = ET.parse(args.file)
        suite = tree.getroot()
    else:
        suite = ET.Element("testsuite", name=args.suite)
        tree = ET.ElementTree(suite)
    case = ET.SubElement(suite, "testcase", name=args.name, classname=args.suite)
    message = args.message or ""
    if args.status == "fail":
        failure = ET.SubElement(case, "failure", message=xml_text(message))
        if args.log and os.path.exists(args.log):
            with open(args.log, errors="replace") as log:
                lines = log.read().splitlines()[-LOG_TAIL_LINES:]
            failure.text = xml_text(f"last lines of {args.log}:\n" + "\n".join(lines))
    elif args.status == "skip":
        ET.SubElement(case, "skipped", message=xml_text(message)).text = xml_text(message)
    cases = list(_junit_cases(suite))
    _, failed, skipped = count(cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failed))
    suite.set("skipped", str(skipped))
    os.makedirs(os.path.dirname(os.path.abspath(args.file)), exist_ok=True)
    tree.write(args.file, encoding="utf-8", xml_declaration=True)


def retry_list(args):
    failures = [case for case in read_cases(args.file) if case.outcome == "failed"]
    if not failures or not all(re.search(args.pattern, case.message) for case in failures):
        return 1
    for method in dict.fromkeys(case.name.split("(", 1)[0] for case in failures):
        print(method)
    return 0


def retry_merge(args):
    tree = ET.parse(args.file)
    later = {case.get("name"): case for case in ET.parse(args.retry).getroot().iter("testcase")}
    for suite in tree.getroot().iter("testsuite"):
        for index, case in enumerate(list(suite)):
            if case.tag != "testcase" or case.find("failure") is None or case.get("name") not in later:
                continue
            first = case.find("failure")
            again = later[case.get("name")]
            note = ET.SubElement(again, "system-out")
            note.text = xml_text("run twice: the first run failed with " + (first.get("message") or "").strip())
            suite.remove(case)
            suite.insert(index, again)
        cases = list(_junit_cases(suite))
        _, failed, skipped = count(cases)
        suite.set("failures", str(failed))
        suite.set("skipped", str(skipped))
    tree.write(args.file, encoding="utf-8", xml_declaration=True)


def stage_files(directory):
    return sorted(glob.glob(os.path.join(directory, "*.xml")) + glob.glob(os.path.join(directory, "*.trx")))


def _indent(text, prefix, limit):
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    shown = lines[:limit] + ([f"... ({len(lines) - limit} more lines)"] if len(lines) > limit else [])
    return "\n".join(prefix + line for line in shown)


def print_stage(stage, files):
    suites = {}
    for path in files:
        suites[os.path.splitext(os.path.basename(path))[0]] = read_cases(path)
    if not suites:
        suites = {"results": [Case(stage, f"{stage}: no result file", "failed",
                                   "the stage wrote no JUnit/TRX file: it did not run to its end")]}
    everything = [case for cases in suites.values() for case in cases]
    passed, failed, skipped = count(everything)
    print(f"{stage + ':':<34} {passed:5d} passed, {failed} failed, {skipped} skipped")
    if len(suites) > 1:
        for suite, cases in suites.items():
            p, f, s = count(cases)
            print(f"   {suite + ':':<31} {p:5d} passed, {f} failed, {s} skipped")
    reasons = collections.Counter(case.message for case in everything if case.outcome == "skipped")
    for reason, times in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
        print(f"   skipped {times}: {reason}")
    failures = [case for case in everything if case.outcome == "failed"]
    for case in failures[:25]:
        print(f"   FAILED {case.name}")
        if case.message:
            print(_indent(case.message, "      ", 12))
    if len(failures) > 25:
        print(f"   ... and {len(failures) - 25} more failures")
    return passed, failed, skipped


def summary(args):
    if args.stages:
        stages = [stage for stage in args.stages.split(",") if stage]
    else:
        stages = sorted(entry for entry in os.listdir(args.dir) if os.path.isdir(os.path.join(args.dir, entry)))
    totals = [0, 0, 0]
    failures = []
    for stage in stages:
        files = stage_files(os.path.join(args.dir, stage))
        for i, value in enumerate(print_stage(stage, files)):
            totals[i] += value
        failures += [(stage, case) for path in files for case in read_cases(path) if case.outcome == "failed"]
    # Again, just above the last line, for a reader who sees only the end of a long log.
    if failures:
        print(f"failures ({len(failures)}):")
        for stage, case in failures[:10]:
            print(f"   {stage}: {case.name}")
            if case.message:
                print(_indent(case.message, "      ", 6))
    print(f"tests: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record")
    rec.add_argument("file")
    rec.add_argument("--suite", required=True)
    rec.add_argument("--name", required=True)
    rec.add_argument("--status", required=True, choices=("pass", "fail", "skip"))
    rec.add_argument("--message")
    rec.add_argument("--log")
    cnt = commands.add_parser("count")
    cnt.add_argument("files", nargs="+")
    rlist = commands.add_parser("retry-list")
    rlist.add_argument("file")
    rlist.add_argument("pattern")
    rmerge = commands.add_parser("retry-merge")
    rmerge.add_argument("file")
    rmerge.add_argument("retry")
    summ = commands.add_parser("summary")
    summ.add_argument("dir")
    summ.add_argument("--stages")
    args = parser.parse_args()
    if args.command == "record":
        record(args)
    elif args.command == "count":
        print(*count([case for path in args.files for case in read_cases(path)]))
    elif args.command == "retry-list":
        sys.exit(retry_list(args))
    elif args.command == "retry-merge":
        retry_merge(args)
    else:
        sys.exit(summary(args))


if __name__ == "__main__":
    main()
