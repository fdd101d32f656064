# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_danerollover_global_optspecs
    string join \n config= letsencrypt-dir= state-dir= verbose h/help V/version
end

function __fish_danerollover_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_danerollover_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_danerollover_using_subcommand
    set -l cmd (__fish_danerollover_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c danerollover -n "__fish_danerollover_needs_command" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_needs_command" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_needs_command" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_needs_command" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_needs_command" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_needs_command" -s V -l version -d 'Print version'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "tlsa" -d 'Print TLSA records for certificates, keys, public keys or CSRs'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "lineages" -d 'List certbot lineages with their keys, TLSA hashes and problems'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "init" -d 'Turn on reuse_key in a lineage\'s renewal.conf (nothing else changes)'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "config" -d 'Print the effective configuration, secrets redacted'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "dns" -d 'Look at and change TLSA records directly'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "hook" -d 'certbot deploy hook: publish the renewed key and the next key (reads RENEWED_LINEAGE)'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "prepublish" -d 'Create the next key if needed and publish current + next records now'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "rollover" -d 'Switch a lineage to its next key, only when that is safe'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "status" -d 'Show every lineage\'s phase, records, servers and the earliest switch time'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "run" -d 'Periodic job: observe, republish drift, retire old records, scheduled rollovers'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "check" -d 'Probe live servers and prove they match DNSSEC-validated TLSA records'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "doctor" -d 'Read-only health check of the setup, one line per item with its fix'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "generate" -d 'Write man pages or print shell completions (generated from this command line)'
complete -c danerollover -n "__fish_danerollover_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l usage -d 'Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l selector -d 'Selector: 0 full certificate, 1 SubjectPublicKeyInfo' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l matching -d 'Matching type: 0 exact, 1 SHA2-256, 2 SHA2-512' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l host -d 'Print zone-file lines for this host (owner _PORT._PROTO.HOST.)' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l port -d 'Port of the owner name (with --host)' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l proto -d 'Transport of the owner name (with --host)' -r -f -a "tcp\t''
udp\t''
sctp\t''"
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l depth -d 'Which certificate of a chain (0 = first); default: the leaf for usages 1 and 3, the last certificate for usages 0 and 2' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand tlsa" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -l client -d 'List this ACME client\'s lineages (certbot, lego, dehydrated, uacme, acmesh) instead of certbot\'s and the configured ones' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -l client-dir -d 'The client\'s directory (lego\'s --path, dehydrated\'s BASEDIR, uacme\'s confdir, acme.sh\'s home)' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand lineages" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l client -d 'The ACME client of the lineage [default: certbot]' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l client-dir -d 'The client\'s directory (lego\'s --path, dehydrated\'s BASEDIR, uacme\'s confdir, acme.sh\'s home)' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l client-config -d 'The client\'s configuration file (dehydrated\'s config)' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l client-command -d 'The command that runs the client, split at white space (lego: its options without --domains and renew; command: the whole renew command)' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l key-file -d 'client = command: the key file it renews with' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l cert-file -d 'client = command: the certificate file' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l provider -d 'Also add [lineages."NAME"] to the configuration, published through this provider' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l owner -d 'TLSA owner names [default: _PORT._tcp. + each DNS name of the certificate]' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l port -d 'Ports for the default owners [default: 25]' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l ttl -d 'TTL of the lineage\'s records [default: the configuration\'s default]' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l dry-run -d 'Show the change without writing anything'
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand init" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand config" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand config" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand config" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand config" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand config" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand config" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -f -a "show" -d 'What every authoritative server serves at these owners, and whether it validates'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -f -a "add" -d 'Add records at an owner through a provider'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -f -a "remove" -d 'Remove records at an owner through a provider'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and not __fish_seen_subcommand_from show add remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from show" -l nameserver -d 'Authoritative servers to ask (address:port), instead of discovering them from NS' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from show" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from show" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from show" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from show" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l provider -d 'The provider, by its name in the configuration' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l ttl -d 'TTL of the records' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l nameserver -d 'Authoritative servers to ask afterwards (address:port), instead of NS discovery' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l dry-run -d 'Say what would change, change nothing'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l provider -d 'The provider, by its name in the configuration' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l ttl -d 'TTL of the records' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l nameserver -d 'Authoritative servers to ask afterwards (address:port), instead of NS discovery' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l dry-run -d 'Say what would change, change nothing'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "show" -d 'What every authoritative server serves at these owners, and whether it validates'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add records at an owner through a provider'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove records at an owner through a provider'
complete -c danerollover -n "__fish_danerollover_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c danerollover -n "__fish_danerollover_using_subcommand hook" -l lineage -d 'The lineage: its name, or certbot\'s live directory [default: from the client\'s environment: RENEWED_LINEAGE, LEGO_CERT_PATH, acme.sh\'s CERT_KEY_PATH]' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand hook" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand hook" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand hook" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand hook" -l dry-run -d 'Say what would change, change nothing'
complete -c danerollover -n "__fish_danerollover_using_subcommand hook" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand hook" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand prepublish" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand prepublish" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand prepublish" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand prepublish" -l dry-run -d 'Say what would change, change nothing'
complete -c danerollover -n "__fish_danerollover_using_subcommand prepublish" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand prepublish" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand prepublish" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l max-wait -d 'With --wait: how long to wait at most (e.g. 2h)' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l wait -d 'Poll until the switch is safe, then switch'
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l emergency -d 'Key compromise: switch now if the next key\'s record is served everywhere and Secure (without the wait), withdraw the old key\'s records at once'
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l dry-run -d 'Say whether the switch is safe and what it would do, change nothing'
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand rollover" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand status" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand status" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand status" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand status" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand status" -l fresh -d 'Ask every server, even where the last observation of an unchanged zone could be reused ([dns] reuse_observations)'
complete -c danerollover -n "__fish_danerollover_using_subcommand status" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand status" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -l dry-run -d 'Say what would change, change nothing'
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -l fresh -d 'Ask every server, even where the last observation of an unchanged zone could be reused ([dns] reuse_observations)'
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand run" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l mx -d 'Check mail domains as a DANE-validating sender sees them: the MX RRset, every MX host\'s TLSA records and every address (STARTTLS on port 25)' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l days -d 'With --mx: CRITICAL when a certificate of a served chain is not valid N days from now' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l target -d 'Check this service instead (HOST:PORT; TLSA owner _PORT._tcp.HOST)' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l starttls -d 'Protocol before TLS [default: from the port]' -r -f -a "smtp\t''
imap\t''
pop3\t''
none\t''"
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l metrics -d 'Write Prometheus text-file-collector metrics to FILE (atomically)' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l warn-days -d 'Warn when the certificate expires within this many days' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l timeout -d 'Timeout of each connection and DNS query' -r
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l both-algorithms -d 'With --mx: probe every address twice, offering only ECDSA and only RSA signatures'
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l rollover-scheme -d 'With --mx: WARNING when a host\'s TLSA RRset has no second record to roll to'
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand check" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand doctor" -l systemd-dir -d 'The systemd unit directory where the timer\'s enablement symlink is looked for' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand doctor" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand doctor" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand doctor" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand doctor" -l json -d 'JSON output'
complete -c danerollover -n "__fish_danerollover_using_subcommand doctor" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -f -a "man" -d 'Write danerollover.1 and one page per command (danerollover-rollover.1, ...) into DIR'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -f -a "complete-bash" -d 'Print the bash completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -f -a "complete-zsh" -d 'Print the zsh completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -f -a "complete-fish" -d 'Print the fish completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and not __fish_seen_subcommand_from man complete-bash complete-zsh complete-fish help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from man" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from man" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from man" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from man" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-bash" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-bash" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-bash" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-bash" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-bash" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-zsh" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-zsh" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-zsh" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-zsh" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-zsh" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-fish" -l config -d 'Configuration file [default: /etc/danerollover/config.toml]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-fish" -l letsencrypt-dir -d 'certbot\'s configuration directory [default: the config\'s letsencrypt_dir, else /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-fish" -l state-dir -d 'Where danerollover keeps its state and next keys [default: the config\'s state_dir, else /var/lib/danerollover]' -r -F
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-fish" -l verbose -d 'Reports after a change also show the status as observed before it'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from complete-fish" -s h -l help -d 'Print help'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "man" -d 'Write danerollover.1 and one page per command (danerollover-rollover.1, ...) into DIR'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "complete-bash" -d 'Print the bash completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "complete-zsh" -d 'Print the zsh completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "complete-fish" -d 'Print the fish completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "tlsa" -d 'Print TLSA records for certificates, keys, public keys or CSRs'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "lineages" -d 'List certbot lineages with their keys, TLSA hashes and problems'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "init" -d 'Turn on reuse_key in a lineage\'s renewal.conf (nothing else changes)'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "config" -d 'Print the effective configuration, secrets redacted'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "dns" -d 'Look at and change TLSA records directly'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "hook" -d 'certbot deploy hook: publish the renewed key and the next key (reads RENEWED_LINEAGE)'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "prepublish" -d 'Create the next key if needed and publish current + next records now'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "rollover" -d 'Switch a lineage to its next key, only when that is safe'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "status" -d 'Show every lineage\'s phase, records, servers and the earliest switch time'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "run" -d 'Periodic job: observe, republish drift, retire old records, scheduled rollovers'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "check" -d 'Probe live servers and prove they match DNSSEC-validated TLSA records'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "doctor" -d 'Read-only health check of the setup, one line per item with its fix'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "generate" -d 'Write man pages or print shell completions (generated from this command line)'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and not __fish_seen_subcommand_from tlsa lineages init config dns hook prepublish rollover status run check doctor generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and __fish_seen_subcommand_from dns" -f -a "show" -d 'What every authoritative server serves at these owners, and whether it validates'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and __fish_seen_subcommand_from dns" -f -a "add" -d 'Add records at an owner through a provider'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and __fish_seen_subcommand_from dns" -f -a "remove" -d 'Remove records at an owner through a provider'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "man" -d 'Write danerollover.1 and one page per command (danerollover-rollover.1, ...) into DIR'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "complete-bash" -d 'Print the bash completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "complete-zsh" -d 'Print the zsh completion script'
complete -c danerollover -n "__fish_danerollover_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "complete-fish" -d 'Print the fish completion script'
