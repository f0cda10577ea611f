"""Print, as JSON, the freezer-api settings the freezer_scheduler role checks. Never prints a secret.

Usage: read_api_conf.py PATH. A real INI parser (values may hold '[', e.g. memcached_servers = [::1]:11211);
missing options take freezer-api's defaults. Output: {"readable", "error", "enabled", "auth_section", "username"}.
"""
import configparser
import json
import sys


def read(path):
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=None, default_section='DEFAULT')
    parser.optionxform = str.lower
    try:
        with open(path, encoding='utf-8') as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error, UnicodeDecodeError) as exc:
        return {'readable': False, 'error': '%s: %s' % (type(exc).__name__, exc)}

    def get(section, option, default):
        if parser.has_section(section) and parser.has_option(section, option):
            return parser.get(section, option).strip()
        return default

    return {
        'readable': True,
        'error': '',
        'enabled': get('centralized_scheduler', 'enabled', 'true'),
        'auth_section': get('centralized_scheduler', 'auth_section', 'keystone_authtoken'),
        'username': get('keystone_authtoken', 'username', ''),
    }


if __name__ == '__main__':
    print(json.dumps(read(sys.argv[1])))
