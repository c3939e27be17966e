/** socket_permission: nginx's workers may not open PHP-FPM's unix socket (13: Permission denied). */
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { plural, samplesOf } from '../facts.js';

export const socketPermission: CauseDefinition = {
  id: 'socket_permission',
  words: "nginx may not open PHP-FPM's socket (permissions)",
  runbookStep: 'fix-permission',
  rule: (f) => {
    const sigs = f.signatures(['connect_eacces']);
    const count = countOf(sigs);
    if (count === 0) return null;
    // Without nginx's config the user is unknown: name the setting rather than guess a distribution's default.
    const configured = f.evidence.nginxConfig?.user?.name;
    const nginxUser = configured ?? '<nginx worker user>';
    const pool = f.pool;
    const current = pool ? `listen.owner=${pool.listenOwner ?? '?'} listen.group=${pool.listenGroup ?? '?'} listen.mode=${pool.listenMode ?? '?'}` : undefined;
    return claim({
      id: 'socket_permission',
      failures: sigs,
      confidence: 0.88 + 0.1 * f.share(count),
      summary: `nginx may not open the PHP-FPM socket: ${plural(count, 'connect()')} failed with 13: Permission denied.`,
      evidence: [
        { source: 'error.log', text: `${count} × connect() (13: Permission denied) to ${sigs[0]?.upstreams[0] ?? 'the socket'}`, samples: samplesOf(sigs) },
        ...accessItem(f, 502),
        ...(current ? [{ source: 'fpm-config' as const, text: `pool ${pool!.name}: ${current}${configured ? `; nginx workers run as ${configured}` : ''}` }] : []),
      ],
      remedy: {
        text: `Let nginx's user (${configured ?? 'the `user` in nginx.conf: www-data on Debian, nginx on RHEL'}) open the socket: in the pool set listen.owner = ${nginxUser}, listen.group = ${nginxUser}, listen.mode = 0660, then reload PHP-FPM (also check SELinux/AppArmor if the modes look right).`,
        setting: 'listen.owner / listen.group / listen.mode',
        ...(current ? { current } : {}),
        suggested: `listen.owner = ${nginxUser}, listen.group = ${nginxUser}, listen.mode = 0660`,
      },
    });
  },
};
