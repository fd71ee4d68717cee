#!/usr/bin/env python3
"""Read JSON records (one per line) and answer questions about them.

  records.py FILE count                      number of records
  records.py FILE field N NAME               field NAME of record N (0-based), JSON-encoded
  records.py FILE messages                   every message, one per line
  records.py FILE find MESSAGE NAME          field NAME of the record whose message is MESSAGE
  records.py FILE check                      every line is a JSON object with exactly the
                                             INTERFACE.md fields; exit 1 otherwise
"""
import json
import sys

FIELDS = ["timestamp", "received_at", "source", "input", "format", "facility", "severity",
          "version", "hostname", "app_name", "procid", "msgid", "structured_data", "message",
          "parse_error"]


def load(path):
    out = []
    with open(path, "rb") as f:
        for raw in f:
            out.append(json.loads(raw.decode("utf-8")))
    return out


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    recs = load(path)
    if cmd == "count":
        print(len(recs))
    elif cmd == "field":
        print(json.dumps(recs[int(sys.argv[3])][sys.argv[4]]))
    elif cmd == "messages":
        for r in recs:
            print(r["message"])
    elif cmd == "find":
        hits = [r for r in recs if r["message"] == sys.argv[3]]
        if len(hits) != 1:
            print("found %d records with message %r" % (len(hits), sys.argv[3]), file=sys.stderr)
            sys.exit(1)
        print(json.dumps(hits[0][sys.argv[4]]))
    elif cmd == "check":
        for i, r in enumerate(recs):
            if list(r.keys()) != FIELDS:
                print("record %d has keys %s" % (i, list(r.keys())), file=sys.stderr)
                sys.exit(1)
    else:
        sys.exit("unknown command " + cmd)


main()
