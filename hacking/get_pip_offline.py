"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test bootstraps pip in its sanity virtual environments with a get-pip
script fetched from a host this machine cannot reach. This stand-in does the
same job with the interpreter's own ``ensurepip`` and then installs the pip
version ansible-test asked for from the package index that is reachable.
"""
import subprocess
import sys

IGNORED = ('--no-setuptools', '--no-wheel')


def main():
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'],
                          stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in IGNORED]
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check'] + args)


if __name__ == '__main__':
    main()
