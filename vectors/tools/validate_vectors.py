#!/usr/bin/env python3
"""Validate every vector file against its JSON Schema, plus what a schema cannot say.

    python3 -m venv target/vectors-venv
    target/vectors-venv/bin/pip install jsonschema==4.26.0
    target/vectors-venv/bin/python vectors/tools/validate_vectors.py [--vectors DIR]
    target/vectors-venv/bin/python vectors/tools/validate_vectors.py --self-test

Every vectors/**/*.json outside vectors/schema/ names its schema in its
"schema" field: a file of vectors/schema/, which may refer to the others
there by relative references (common_schema_v1.json). Each file is checked
against it (Draft 2020-12, with the jsonschema package, pinned above), and
each schema against the draft's metaschema. Then the checks a schema cannot
express (vectors/README.md, "Checks"):

- the file has "schema" (naming a file of vectors/schema/) and an integer
  "vectorsVersion" of 1 or more;
- "numberOfTests" is the number of tests in all groups;
- tcIds are unique, run from 1 to numberOfTests, and increase within each
  group (across the whole file in vectors/handshake/);
- every flag of a test has an entry in "notes", and every note is used;
- HMAC files: a group's keySize and tagSize are its tests' key and tag
  lengths in bits, and the top "algorithm" lists the groups' algorithms;
- handshake files: "replayedOn" has exactly the roles of "check", and
  "cpython" only such roles; "python" names every version of "replayedOn";
- native.json: an export's output has its "length", and the session's
  handshakeHash and both keys are as long as the suite's MAC.

Any problem is printed as FILE: tcId N: FIELD: WHAT, and the exit status is 1.
--self-test breaks copies of the files in memory (a required field dropped,
a non-hex character, an unknown error name, a wrong numberOfTests, a missing
vectorsVersion, and more) and fails unless each is caught.
"""

import argparse
import copy
import json
import re
import sys
from pathlib import Path

JSONSCHEMA = '4.26.0'   # the version CI installs; others of 4.18+ work too

try:
    import jsonschema
    import referencing
    import referencing.jsonschema
except ImportError:
    sys.exit('validate_vectors: the jsonschema package is missing: '
             'pip install jsonschema==%s (in a venv)' % JSONSCHEMA)

VECTORS = Path(__file__).resolve().parent.parent
MAC_LEN = {'hmac-sha256': 32, 'hmac-sha384': 48, 'hmac-sha512': 64, 'hmac-sha3_256': 32}


class Schemas:
    """The schema files of one directory, as a registry of file: URIs."""

    def __init__(self, schema_dir):
        self.dir = schema_dir
        self.by_name = {}
        resources = []
        for path in sorted(schema_dir.glob('*.json')):
            contents = json.loads(path.read_text())
            jsonschema.validators.validator_for(contents).check_schema(contents)
            self.by_name[path.name] = contents
            resources.append((path.resolve().as_uri(), referencing.Resource.from_contents(
                contents, default_specification=referencing.jsonschema.DRAFT202012)))
        self.registry = referencing.Registry().with_resources(resources)

    def validator(self, name):
        uri = (self.dir / name).resolve().as_uri()
        cls = jsonschema.validators.validator_for(self.by_name[name])
        return cls({'$ref': uri}, registry=self.registry)


def tests_of(doc):
    """(group index, test index, test) for every test of a document."""
    for gi, group in enumerate(doc.get('testGroups') or []):
        if isinstance(group, dict):
            for ti, test in enumerate(group.get('tests') or []):
                if isinstance(test, dict):
                    yield gi, ti, test


def where(doc, path):
    """'tcId N: rest/of/path' for a path into a document (a list of keys)."""
    path = list(path)
    if len(path) >= 4 and path[0] == 'testGroups' and path[2] == 'tests':
        try:
            tc = doc['testGroups'][path[1]]['tests'][path[3]].get('tcId', '?')
        except (IndexError, KeyError, TypeError, AttributeError):
            tc = '?'
        rest = '/'.join(str(p) for p in path[4:]) or '(the test)'
        return 'tcId %s: %s' % (tc, rest)
    return '/'.join(str(p) for p in path) or '(top level)'


def short(text, limit=300):
    return text if len(text) <= limit else text[:limit] + '...'


def describe(error):
    """A schema error's message, without the whole instance where it has one."""
    value = error.validator_value
    if error.validator == 'not' and isinstance(value, dict) and list(value) == ['required']:
        return '%s must not be here' % ', '.join(value['required'])
    if error.validator in ('anyOf', 'oneOf') and error.context:
        return 'none of the allowed shapes: ' + '; or '.join(
            '%s: %s' % ('/'.join(str(p) for p in c.relative_path) or 'here', describe(c))
            for c in error.context)
    return error.message


def relevant(errors):
    """Drops "unevaluated properties" errors caused by another error in the
    same object (a failed subschema evaluates none of its properties)."""
    paths = [tuple(e.absolute_path) for e in errors if e.validator != 'unevaluatedProperties']
    return [e for e in errors if e.validator != 'unevaluatedProperties'
            or not any(p[:len(e.absolute_path)] == tuple(e.absolute_path) for p in paths)]


def schema_problems(doc, schemas):
    name = doc.get('schema')
    if not isinstance(name, str):
        return ['schema: missing (it must name a file of vectors/schema/)']
    if name not in schemas.by_name or name.startswith('common_'):
        return ['schema: %r is not a vector schema of %s' % (name, schemas.dir)]
    errors = sorted(relevant(list(schemas.validator(name).iter_errors(doc))),
                    key=lambda e: [str(p) for p in e.absolute_path])
    return ['%s: %s' % (where(doc, e.absolute_path), short(describe(e))) for e in errors]


def count_problems(doc):
    out = []
    if not isinstance(doc.get('vectorsVersion'), int) or isinstance(doc.get('vectorsVersion'), bool) \
            or doc['vectorsVersion'] < 1:
        out.append('vectorsVersion: missing or not an integer of 1 or more')
    tests = list(tests_of(doc))
    if doc.get('numberOfTests') != len(tests):
        out.append('numberOfTests: %r, but the file has %d tests' % (doc.get('numberOfTests'), len(tests)))
    ids = [t.get('tcId') for _, _, t in tests]
    seen = set()
    for _, _, t in tests:
        if t.get('tcId') in seen:
            out.append('tcId %s: tcId: used twice' % t.get('tcId'))
        seen.add(t.get('tcId'))
    if all(isinstance(i, int) for i in ids) and sorted(ids) != list(range(1, len(ids) + 1)):
        out.append('tcIds: not 1 to %d (missing %s)' % (
            len(ids), sorted(set(range(1, len(ids) + 1)) - set(ids))[:10]))
    handshake = doc.get('testGroups') and any('profile' in g for g in doc['testGroups']
                                              if isinstance(g, dict))
    runs = [[t for gi, _, t in tests]] if handshake else [
        [t for gi, _, t in tests if gi == g] for g in range(len(doc.get('testGroups') or []))]
    for run in runs:
        for a, b in zip(run, run[1:]):
            if isinstance(a.get('tcId'), int) and isinstance(b.get('tcId'), int) \
                    and b['tcId'] <= a['tcId']:
                out.append('tcId %s: tcId: follows tcId %s (tcIds must increase %s)' % (
                    b['tcId'], a['tcId'], 'in the file' if handshake else 'within a group'))
    return out


def flag_problems(doc):
    out = []
    notes = doc.get('notes') if isinstance(doc.get('notes'), dict) else {}
    used = set()
    for _, _, t in tests_of(doc):
        for f in t.get('flags') or []:
            used.add(f)
            if f not in notes:
                out.append('tcId %s: flags: %r has no entry in notes' % (t.get('tcId'), f))
    for f in sorted(set(notes) - used):
        out.append('notes/%s: no test has this flag' % f)
    return out


def hexlen(v):
    return len(v) // 2 if isinstance(v, str) else None


def hmac_problems(doc):
    out = []
    algorithms = []
    for gi, group in enumerate(doc.get('testGroups') or []):
        if group.get('algorithm') not in algorithms:
            algorithms.append(group.get('algorithm'))
        for t in group.get('tests') or []:
            for size, field in (('keySize', 'key'), ('tagSize', 'tag')):
                if hexlen(t.get(field)) is not None and hexlen(t.get(field)) * 8 != group.get(size):
                    out.append('tcId %s: %s: %d bits, but the group\'s %s is %r' % (
                        t.get('tcId'), field, hexlen(t[field]) * 8, size, group.get(size)))
    if doc.get('algorithm') != ', '.join(str(a) for a in algorithms):
        out.append('algorithm: %r, but the groups are %s' % (doc.get('algorithm'), ', '.join(map(str, algorithms))))
    return out


def handshake_problems(doc):
    out = []
    named = re.fullmatch(r'handshake_(\w+)_test_schema_v[0-9]+\.json', str(doc.get('schema')))
    for group in doc.get('testGroups') or []:
        if named and group.get('profile') != named.group(1):
            out.append('schema: %r is for profile %s, but a group has profile %r'
                       % (doc['schema'], named.group(1), group.get('profile')))
    for _, _, t in tests_of(doc):
        tc = t.get('tcId')
        check = set(t.get('check') or [])
        if 'replayedOn' in t and isinstance(t['replayedOn'], dict):
            if set(t['replayedOn']) != check:
                out.append('tcId %s: replayedOn: roles %s, but check is %s' % (
                    tc, sorted(t['replayedOn']), sorted(check)))
            python = set(str(t.get('python', '')).split(', '))
            for role, versions in t['replayedOn'].items():
                for v in versions if isinstance(versions, list) else []:
                    if v not in python:
                        out.append('tcId %s: replayedOn/%s: %s is not in python' % (tc, role, v))
        if isinstance(t.get('cpython'), dict) and not set(t['cpython']) <= check:
            out.append('tcId %s: cpython: roles %s not in check' % (tc, sorted(set(t['cpython']) - check)))
        session = t.get('session')
        if isinstance(session, dict):
            n = MAC_LEN.get(session.get('suite'))
            for field in ('handshakeHash', 'c2sKey', 's2cKey'):
                if n and hexlen(session.get(field)) not in (None, n):
                    out.append('tcId %s: session/%s: %d bytes, but %s gives %d' % (
                        tc, field, hexlen(session[field]), session['suite'], n))
            for i, e in enumerate(session.get('exports') or []):
                if isinstance(e, dict) and hexlen(e.get('output')) not in (None, e.get('length')):
                    out.append('tcId %s: session/exports/%d/output: %d bytes, but length is %r' % (
                        tc, i, hexlen(e['output']), e.get('length')))
    return out


def problems(doc, schemas):
    """Every problem of one parsed vector file, as 'FIELD: WHAT' strings."""
    if not isinstance(doc, dict):
        return ['(top level): not a JSON object']
    out = schema_problems(doc, schemas) + count_problems(doc) + flag_problems(doc)
    try:
        if doc.get('schema') == 'hmac_mac_test_schema_v1.json':
            out += hmac_problems(doc)
        else:
            out += handshake_problems(doc)
    except (AttributeError, TypeError) as exc:     # shapes the schema already refused
        out.append('(structure): %s' % exc)
    return out


def vector_files(vectors):
    return sorted(p for p in vectors.rglob('*.json') if 'schema' not in p.relative_to(vectors).parts[:1])


def validate(vectors):
    schemas = Schemas(vectors / 'schema')
    files = vector_files(vectors)
    if not files:
        print('FAIL: no vector files under %s' % vectors, file=sys.stderr)
        return 1
    bad = 0
    for path in files:
        name = path.relative_to(vectors.parent) if vectors.parent in path.parents else path
        try:
            doc = json.loads(path.read_text())
        except ValueError as exc:
            print('%s: not JSON: %s' % (name, exc), file=sys.stderr)
            bad += 1
            continue
        found = problems(doc, schemas)
        for p in found:
            print('%s: %s' % (name, p), file=sys.stderr)
        bad += bool(found)
        if not found:
            print('ok   %s: %d tests, %s, vectorsVersion %d' % (
                name, doc['numberOfTests'], doc['schema'], doc['vectorsVersion']))
    if bad:
        print('FAIL: %d of %d vector files have problems' % (bad, len(files)), file=sys.stderr)
        return 1
    print('OK: %d vector files valid against %s (jsonschema %s)' % (
        len(files), ', '.join(sorted(n for n in schemas.by_name)), jsonschema_version()))
    return 0


def jsonschema_version():
    try:
        from importlib.metadata import version
        return version('jsonschema')
    except Exception:       # noqa: BLE001 - only for the message
        return 'unknown'


# --- self-test -------------------------------------------------------------------

def first_test(doc, pred=lambda t: True):
    return next(t for _, _, t in tests_of(doc) if pred(t))


def mutations():
    """(file, what, function changing a copy in place, text the report must hold)."""
    def drop(field, pred=lambda t: True):
        return lambda d: first_test(d, pred).pop(field)

    def set_field(field, value, pred=lambda t: True):
        return lambda d: first_test(d, pred).__setitem__(field, value)

    def message0(d):
        m = first_test(d)['messages'][0]
        m['data'] = 'zz' + m['data'][2:]

    def key_upper(d):
        first_test(d)['key'] = 'AB' + first_test(d)['key'][2:]

    def extra_top(d):
        d['comment'] = 'not a field of the layout'

    def dup_tcid(d):
        tests = [t for _, _, t in tests_of(d)]
        tests[1]['tcId'] = tests[0]['tcId']

    def session_len(d):
        e = first_test(d, lambda t: 'session' in t)['session']['exports'][0]
        e['output'] = e['output'][2:]

    def unnoted_flag(d):
        first_test(d)['flags'].append('NoSuchFlag')

    def replayed_role(d):
        t = first_test(d, lambda t: t['check'] == ['server'])
        t['replayedOn']['client'] = t['replayedOn']['server']

    def key_size(d):
        d['testGroups'][0]['keySize'] += 8

    return [
        ('hmac/rfc4231_hmac_sha2.json', 'a required field dropped (tag)', drop('tag'), "'tag' is a required property"),
        ('handshake/native.json', 'a required field dropped (messages)', drop('messages'), "'messages' is a required property"),
        ('handshake/recipe.json', 'a required field dropped (server)', drop('server'), "'server' is a required property"),
        ('handshake/multiprocessing.json', 'a non-hex character in a message', message0, 'messages/0/data'),
        ('hmac/rfc2202_hmac_md5_sha1.json', 'uppercase hex in a key', key_upper, 'key:'),
        ('handshake/multiprocessing.json', 'an unknown error name', set_field('serverResult', 'no_such_error', lambda t: t.get('serverResult', 'ok') != 'ok'), "serverResult: 'no_such_error' is not one of"),
        ('handshake/native.json', 'an unknown error name', set_field('clientResult', 'wrong_tag', lambda t: t.get('clientResult', 'ok') != 'ok'), "clientResult: 'wrong_tag' is not one of"),
        ('handshake/recipe.json', 'a peer error of another profile', set_field('serverResult', 'tag_length', lambda t: t['result'] == 'invalid'), 'serverResult'),
        ('handshake/native.json', 'a valid test whose role fails', set_field('serverResult', 'bad_tag', lambda t: t['result'] == 'valid'), "serverResult: 'ok' was expected"),
        ('handshake/native.json', 'a result role not in check', set_field('clientResult', 'ok', lambda t: t['check'] == ['server']), 'clientResult must not be here'),
        ('handshake/native.json', 'an unknown direction', lambda d: first_test(d)['messages'][0].__setitem__('from', 'relay'), 'messages/0/from'),
        ('handshake/native.json', 'an unknown suite', lambda d: first_test(d)['server'].__setitem__('suite', 'hmac-sha1'), 'server/suite'),
        ('handshake/multiprocessing.json', 'an unknown digest', lambda d: first_test(d)['client'].__setitem__('digest', 'sha224'), 'client/digest'),
        ('handshake/recipe.json', 'an unknown flag', unnoted_flag, 'NoSuchFlag'),
        ('handshake/native.json', 'an unknown result value', set_field('result', 'acceptable'), "result: 'acceptable' is not one of"),
        ('hmac/rfc2104_hmac_md5.json', 'a wrong numberOfTests', lambda d: d.__setitem__('numberOfTests', d['numberOfTests'] + 1), 'numberOfTests'),
        ('handshake/recipe.json', 'a wrong numberOfTests', lambda d: d.__setitem__('numberOfTests', d['numberOfTests'] - 1), 'numberOfTests'),
        ('handshake/native.json', 'a missing vectorsVersion', lambda d: d.pop('vectorsVersion'), 'vectorsVersion'),
        ('hmac/rfc4231_hmac_sha2.json', 'a missing vectorsVersion', lambda d: d.pop('vectorsVersion'), 'vectorsVersion'),
        ('handshake/multiprocessing.json', 'a vectorsVersion that is a string', lambda d: d.__setitem__('vectorsVersion', '1'), "vectorsVersion: '1' is not of type 'integer'"),
        ('handshake/recipe.json', 'a missing schema', lambda d: d.pop('schema'), 'schema: missing'),
        ('hmac/rfc2104_hmac_md5.json', 'a schema that is not there', lambda d: d.__setitem__('schema', 'mac_test_schema_v1.json'), 'schema:'),
        ('handshake/recipe.json', 'another profile\'s schema', lambda d: d.__setitem__('schema', 'handshake_native_test_schema_v1.json'), 'schema: '),
        ('handshake/native.json', 'a field not in the layout', extra_top, "'comment' was unexpected"),
        ('handshake/multiprocessing.json', 'a duplicate tcId', dup_tcid, 'used twice'),
        ('handshake/native.json', 'an export output of the wrong length', session_len, 'exports/0/output'),
        ('handshake/multiprocessing.json', 'replayedOn for a role not checked', replayed_role, 'replayedOn'),
        ('hmac/rfc2202_hmac_md5_sha1.json', 'a keySize that is not the key\'s', key_size, 'keySize'),
    ]


def self_test(vectors):
    schemas = Schemas(vectors / 'schema')
    docs = {str(p.relative_to(vectors)): json.loads(p.read_text()) for p in vector_files(vectors)}
    failures = 0
    for name, doc in sorted(docs.items()):
        found = problems(doc, schemas)
        if found:
            failures += 1
            print('FAIL: %s has problems before any change: %s' % (name, found[:3]), file=sys.stderr)
    for name, what, change, expect in mutations():
        doc = copy.deepcopy(docs[name])
        change(doc)
        found = problems(doc, schemas)
        hit = [p for p in found if expect in p]
        if hit:
            print('caught  %s, %s: %s' % (name, what, short(hit[0], 160)))
        else:
            failures += 1
            print('MISSED  %s, %s: expected a problem naming %r, got %s' % (name, what, expect, found[:3]),
                  file=sys.stderr)
    if failures:
        print('FAIL: validate_vectors self-test: %d failures' % failures, file=sys.stderr)
        return 1
    print('OK: validate_vectors self-test: %d files clean, %d mutations caught' % (len(docs), len(mutations())))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--vectors', type=Path, default=VECTORS,
                    help='the vectors directory (default: the one this script is in)')
    ap.add_argument('--self-test', action='store_true',
                    help='check that broken copies of the files are refused')
    args = ap.parse_args()
    vectors = args.vectors.resolve()
    return self_test(vectors) if args.self_test else validate(vectors)


if __name__ == '__main__':
    sys.exit(main())
