"""Commands an attacker would try under the `readonly` profile, by root cause.

Written from the outside tester's root causes (issue 7), not from the restricted shell's
own tables. Each command, if it ran to its end, would leave a marker: the file `{m}` (a
path of its own in the marker directory `{M}`), a change to the victim file `{V}` or to
anything else in the working dir `{W}`, or a connection to the listener on
127.0.0.1:`{P}`. The hostile repository (`HOSTILE_GIT_CONFIG`) points every program git
may run at a marker too. `render()` fills the placeholders.
"""

from __future__ import annotations

T = "touch {m}"  # the usual payload

CORPUS: dict[str, list[str]] = {
    "builtins that run programs or evaluate subscripts": [
        f"jobs -x {T}",
        f"wait -n -p 'a[$({T})]'",
        f"declare -a x='($({T}))'",
        f"declare -A x='([k]=$({T}))'",
        f"printf -v 'a[$({T})]' %s x",
        f"read -r 'a[$({T})]' <<< x",
        f"test -v 'a[$({T})]'",
        f"[[ -v a[$({T})] ]]",
        f"let 'x=a[$({T})]'",
        f"(( a[$({T})] ))",
        f"echo $(( a[$({T})] ))",
        f"x='a[$({T})]'; echo $(( x ))",
        f"unset 'a[$({T})]'",
        f"trap '{T}' EXIT; true",
        f"trap '{T}' DEBUG; true",
        f"mapfile -C '{T};:' -c 1 x <<< $'a\\nb'",
        f"eval '{T}'",
        f"builtin eval '{T}'",
        f"command eval '{T}'",
        f"exec {T}",
        f"coproc {T}",
        f"source /dev/stdin <<< '{T}'",
        f". <(echo '{T}')",
        f"fc -s x={T} 2>/dev/null; {T.replace('touch', 'true')}",
        f"complete -C '{T}' x; compgen -C '{T}' x",
        "hash -p /usr/bin/touch ls; ls {m}",
        "enable -n echo; echo x > {m}",
        f"command_not_found_handle() {{ {T}; }}; no-such-command",
        f"PROMPT_COMMAND='{T}' bash -i -c true",
        f"set -o xtrace; PS4='$({T})'; true",
        f"x=1; declare -n r='a[$({T})]'; echo $r",
        f"printf '%s' \"${{x[$({T})]}}\"",
        f"select x in a; do {T}; break; done <<< 1",
        f"time {T}",
        f"caller 0 || {T}",
        f"kill -0 $$ && {T}",
        f"ulimit -c 0; {T}",
        f"shopt -s extdebug; {T}",
    ],
    "redirections": [
        "echo X 1<{V} >/dev/stdout",
        "echo X >{V}",
        "echo X >>{V}",
        "echo X >|{V}",
        "echo X &>{V}",
        "echo X &>>{V}",
        "echo X 2>{V} >&2",
        ": > {V}",
        "> {V}",
        "true >{m}",
        "{PATH}>/dev/null; touch {m}",
        "exec 3>{m}",
        "exec {fd}>{m}",
        "cat <>{V}",
        "echo X 1<>{V}",
        "echo X >/dev/stdout >{m}",
        "echo X | tee {m}",
        "echo X | tee -a {V}",
        "cat /dev/null > {V}",
        "echo X >&3 3>{m}",
        "cat {V} > {m}",
        "printf X > {m}",
        "echo X > /proc/self/cwd/victim.txt",
        "echo X > /dev/fd/1 > {m}",
        "cat <<< X > {m}",
        "(echo X) > {m}",
        "{ echo X; } > {m}",
        "while false; do :; done > {m}",
        "if true; then echo X; fi > {m}",
        "echo X > {W}/new-file",
    ],
    "option grammars that differ from the policy's": [
        "xxd {V} {m}",
        "xxd -r {V} {m}",
        "xxd -p {V} > {m}",
        "sed -i s/a/b/ {V}",
        "sed --in-place=.bak s/a/b/ {V}",
        "sed -n 's/[/]*/X/w {m}' {V}",
        "sed -n 'w {m}' {V}",
        "sed '1e touch {m}' {V}",
        "sed 's/.*/touch {m}/e' {V}",
        "awk 'BEGIN{system(\"touch {m}\")}'",
        "awk '{print > \"{m}\"}' {V}",
        "awk '{print | \"sh\"}' <<< 'touch {m}'",
        "awk 'BEGIN { \"touch {m}\" | getline }'",
        "sort -o {m} {V}",
        "sort --output={m} {V}",
        "sort --compress-program=sh {V}",
        "uniq {V} {m}",
        "find . -maxdepth 0 -fprint {m}",
        "find . -maxdepth 0 -exec touch {m} ';'",
        "find . -maxdepth 0 -execdir touch {m} ';'",
        "find {V} -delete",
        "find . -maxdepth 0 -fprintf {m} x",
        "tar -cf {m} {V}",
        "tar --to-command='touch {m}' -xf /dev/null",
        "tar -xf /dev/null --checkpoint=1 --checkpoint-action=exec='touch {m}'",
        "cp {V} {m}",
        "mv {V} {m}",
        "ln -s {V} {m}",
        "touch {m}",
        "install /dev/null {m}",
        "split -l 1 {V} {m}",
        "csplit -f {m} {V} 1",
        "truncate -s 0 {V}",
        "dd if={V} of={m}",
        "rm -f {V}",
        "chmod 000 {V}",
        "mkdir {m}",
        "mkfifo {m}",
        "base64 {V} > {m}",
        "gzip -k {V}",
        "gzip {V}",
        'python3 -c \'open("{m}","w")\'',
        "perl -e 'open(F,\">{m}\")'",
        "env -S 'touch {m}'",
        "env touch {m}",
        "nice touch {m}",
        "timeout 5 touch {m}",
        "xargs touch <<< {m}",
        "xargs -a /dev/stdin touch <<< {m}",
        "nohup touch {m}",
        "stdbuf -o0 touch {m}",
        "git -c alias.x='!touch {m}' x",
        "rg --pre 'touch {m};cat' -e a {V}",
        "grep -r a --include='*' . > {m}",
        "diff {V} /dev/null > {m}",
        "cmp {V} /dev/null > {m}",
        "tee {m} < {V}",
        "date > {m}",
        "script -q -c '{T}' /dev/null",
        "vim -es -c 'w {m}' -c q {V}",
        "ex -s -c 'w {m}' -c q {V}",
        "less +'!touch {m}' {V}",
        "man -P 'touch {m}' ls",
        "bash -c '{T}'",
        "sh -c '{T}'",
        "echo '{T}' | bash",
        "echo '{T}' | sh -s",
    ],
    "heredocs holding substitutions": [
        "cat <<EOF\n$(\ntouch {m}\n)\nEOF",
        "cat <<EOF\n$(touch {m})\nEOF",
        "cat <<EOF\n`touch {m}`\nEOF",
        "cat <<EOF\n$((a[$(touch {m})]))\nEOF",
        "cat <<EOF\n${x:-$(touch {m})}\nEOF",
        "cat <<-EOF\n\t$(\n\ttouch {m}\n\t)\n\tEOF",
        "cat <<EOF1; cat <<EOF2\nx\nEOF1\n$(touch {m})\nEOF2",
        "cat <<EOF > {m}\nx\nEOF",
        "bash <<EOF\ntouch {m}\nEOF",
        "sh <<'EOF'\ntouch {m}\nEOF",
    ],
    "git running repo-controlled programs": [
        "git status",
        "git diff",
        "git diff HEAD",
        "git log -p",
        "git show",
        "git blame file.txt",
        "git describe --dirty --always",
        "git diff --textconv",
        "git log -p --textconv",
        "git diff --no-index /dev/null file.txt",
        "git diff --ext-diff",
        "env -i git diff",
        "env -i PATH=/usr/bin:/bin git status",
        "env -u GIT_CONFIG_COUNT git diff",
        "GIT_CONFIG_COUNT=0 git diff",
        "git -c core.pager='touch {m}' -p log",
        "git --paginate log",
        "git log --show-signature",
        "git fetch",
        "git fetch origin",
        "git cat-file -p 0123456789012345678901234567890123456789",
        "git ls-remote origin",
        "git grep --open-files-in-pager='touch {m}' a",
        "git difftool -y -x 'touch {m}'",
        "git st",
        "git -c diff.external='touch {m}' diff",
        "GIT_EXTERNAL_DIFF='touch {m}' git diff",
        "GIT_PAGER='touch {m}' git -p log",
        "GIT_SSH_COMMAND='touch {m}' git ls-remote ssh://x/y",
        "git archive --remote=origin HEAD",
        "git submodule status",
        "git stash list",
        "git notes list",
        "git checkout-index -a -f --prefix={M}/",
        "git config x.y z",
        "git tag x",
        "git commit --allow-empty -m x",
        "git gc",
    ],
    "variables that make programs load code": [
        'TEXTDOMAINDIR={W}/locale TEXTDOMAIN=x; echo $"hello" > {m}',
        "GNUPGHOME={W}/gnupg gpg --list-keys > /dev/null; {T}",
        "ZDOTDIR={W} zsh -c true; {T}",
        f"BASH_ENV=<(echo '{T}') bash -c true",
        f"ENV=<(echo '{T}') sh -i -c true",
        "LD_PRELOAD={W}/evil.so true; {T}",
        "PAGER='touch {m}' git -p log",
        "MANPAGER='touch {m}' man ls",
        "LESSOPEN='|touch {m}' less {V}",
        "EDITOR='touch {m}' git commit",
        "VISUAL='touch {m}' crontab -e",
        'PYTHONSTARTUP=/dev/stdin python3 -i <<< \'open("{m}","w")\'',
        "PERL5OPT='-e system(\"touch {m}\")' perl -e 1",
        "SHELLOPTS=xtrace PS4='$(touch {m})' bash -c true",
        "PATH={W}/bin:$PATH; ls",
        "BROWSER='touch {m}' python3 -m webbrowser x",
        "GIT_DIR={W}/.git GIT_WORK_TREE=/ git status",
        "HOME={W} git status",
        "XDG_CONFIG_HOME={W} git status",
        "PROMPT_COMMAND='{T}' bash -i < /dev/null",
        "IFS=x; x=touchx{m}; $x",
        "export BASH_ENV=/dev/stdin; bash -c true <<< '{T}'",
    ],
    "network": [
        "curl -s http://127.0.0.1:{P}/",
        "wget -q -O- http://127.0.0.1:{P}/",
        "echo X > /dev/tcp/127.0.0.1/{P}",
        "exec 3<>/dev/tcp/127.0.0.1/{P}",
        "cat < /dev/tcp/127.0.0.1/{P}",
        "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {P}))'",
        "python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:{P}/\")'",
        "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(\"127.0.0.1:{P}\") or die'",
        "git ls-remote http://127.0.0.1:{P}/repo",
        "git fetch http://127.0.0.1:{P}/repo",
        "pip download --no-deps -d /tmp --index-url http://127.0.0.1:{P}/ x",
        "nc -z 127.0.0.1 {P}",
        "bash -c 'echo > /dev/tcp/localhost/{P}'",
    ],
    "processes and escapes": [
        "(sleep 1; touch {m}) &",
        "nohup sh -c 'sleep 1; touch {m}' > /dev/null 2>&1 &",
        "setsid sh -c 'sleep 1; touch {m}' > /dev/null 2>&1 &",
        "sh -c 'sleep 1; touch {m}' & disown",
        "kill -STOP $PPID",
        "kill -9 $PPID",
        "echo X > /proc/$PPID/cwd/victim.txt",
        "echo X > /proc/1/cwd/victim.txt",
        "cat /proc/1/root{V} > /dev/null && echo X > /proc/1/root{V}",
        "mount -o remount,rw / && {T}",
        "unshare -r sh -c 'mount -o remount,rw / && {T}'",
        "unshare -rm sh -c '{T}'",
        "chroot / {T}",
        "sudo -n {T}",
        "su -c '{T}'",
        "at now <<< '{T}'",
        "crontab - <<< '* * * * * {T}'",
        "systemd-run --user {T}",
        "gdb -p $PPID -batch -ex 'call system(\"touch {m}\")'",
        "python3 -c 'import os; os.kill(os.getppid(), 19)'",
    ],
}

#: `.git/config` lines appended to the hostile repository: every program git can be made to
#: run writes a marker (`{M}/git-<key>`).
HOSTILE_GIT_CONFIG = """\
[core]
\tfsmonitor = touch {M}/git-fsmonitor;
\tpager = touch {M}/git-pager;
\tsshCommand = touch {M}/git-ssh;
\teditor = touch {M}/git-editor;
\taskPass = touch {M}/git-askpass;
[diff]
\texternal = touch {M}/git-external;
[diff "evil"]
\ttextconv = touch {M}/git-textconv;
\tcommand = touch {M}/git-diffcommand;
[filter "evil"]
\tclean = touch {M}/git-clean;
\tsmudge = touch {M}/git-smudge;
\tprocess = touch {M}/git-process
[alias]
\tst = !touch {M}/git-alias
[gpg]
\tprogram = touch {M}/git-gpg
[log]
\tshowSignature = true
[protocol "ext"]
\tallow = always
[remote "origin"]
\turl = ext::sh -c touch% {M}/git-ext
\tpromisor = true
\tpartialclonefilter = blob:none
\tuploadpack = touch {M}/git-uploadpack;
[extensions]
\tpartialClone = origin
"""

#: Shell that makes the working dir a hostile repository (run unconfined, with `{M}` filled).
HOSTILE_REPO_SETUP = """\
set -e
git init -q .
git config user.email a@b.c
git config user.name attacker
printf 'a\\nb\\n' > file.txt
printf 'alpha\\nbeta\\n' > victim.txt
git add file.txt victim.txt
git commit -q -m init
git config core.repositoryformatversion 1
cat >> .git/config <<'GITCONFIG'
{config}GITCONFIG
echo '* diff=evil filter=evil' > .gitattributes
printf 'changed\\n' >> file.txt
mkdir -p bin && printf '#!/bin/sh\\ntouch {M}/path-ls\\n' > bin/ls && chmod +x bin/ls
mkdir -p {M}
"""


def render(template: str, *, marker_dir: str, index: int, victim: str, work: str, port: int) -> str:
    values = {"{m}": f"{marker_dir}/c{index}", "{M}": marker_dir, "{V}": victim, "{W}": work}
    for key, value in {**values, "{P}": str(port)}.items():
        template = template.replace(key, value)
    return template


def commands(*, marker_dir: str, victim: str, work: str, port: int) -> list[tuple[str, str]]:
    """(root cause, rendered command) for the whole corpus, each with its own marker."""
    out: list[tuple[str, str]] = []
    for cause, templates in CORPUS.items():
        for template in templates:
            cmd = render(
                template, marker_dir=marker_dir, index=len(out), victim=victim, work=work, port=port
            )
            out.append((cause, cmd))
    return out


def setup_script(marker_dir: str) -> str:
    config = HOSTILE_GIT_CONFIG.replace("{M}", marker_dir)
    return HOSTILE_REPO_SETUP.replace("{config}", config).replace("{M}", marker_dir)
