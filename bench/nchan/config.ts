/**
 * The `nchan` bench target: nginx with the nchan module from Debian, with nchan's Redis storage
 * (its durable set-up, the one comparable with heartbeat's), configured the way an operator would
 * run it on this box: one worker process per core.
 *
 * Needs the Debian packages `nginx-light` (or `nginx`) and `libnginx-mod-nchan`:
 *   apt-get install -y nginx-light libnginx-mod-nchan
 */
import fs from 'node:fs';
import os from 'node:os';

export const NGINX = '/usr/sbin/nginx';
const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

/** Throws a message that says which packages to install when nginx or the nchan module is missing. */
export function assertNchanInstalled(): void {
  const missing = [NGINX, NCHAN_MODULE].filter((f) => !fs.existsSync(f));
  if (missing.length) {
    throw new Error(
      `target nchan needs the Debian packages nginx-light (or nginx) and libnginx-mod-nchan (missing ${missing.join(', ')}): ` +
        'apt-get update && apt-get install -y nginx-light libnginx-mod-nchan',
    );
  }
}

export interface NchanOptions {
  /** temp dir holding nginx.conf, the pid file, the error log and the request-body temp dir */
  dir: string;
  port: number;
  redisPort: number;
  /** seconds between keepalive comments on idle streams; heartbeat's KEEPALIVE default, 25 */
  keepaliveSec?: number;
  /** nginx worker processes; default one per core */
  workers?: number;
}

/**
 * nginx.conf for one bench run. As heartbeat does, a new subscriber gets the channel's last
 * message at once (a buffer of one message, replayed from the oldest), then every new one; idle
 * streams get a keepalive comment every `keepaliveSec`. `reuseport` spreads connections over the
 * workers (without it one worker can take a whole connect burst). `backlog=65535`: the accept
 * queue heartbeat asks for (LISTEN_BACKLOG), so a connect storm meets the same kernel queue on both
 * (nginx's default is 511; the kernel caps both at net.core.somaxconn). `/multi/a,b,…` is one
 * multiplexed subscriber on up to 255 channels (the `contacts` scenario's peer of
 * `/subscribe?user=…`). /nchan_status is nchan's stub status: the bench reads its live subscriber
 * count after churn.
 */
export function nchanConfig(o: NchanOptions): string {
  const channel = (role: string) => `
      ${role};
      nchan_channel_id $1;
      nchan_redis_pass redis_store;
      nchan_message_buffer_length 1;`;
  return `load_module ${NCHAN_MODULE};
worker_processes ${o.workers ?? os.cpus().length};
daemon off;
user root;
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/nginx-error.log warn;
events { worker_connections 19900; }
http {
  access_log off;
  client_body_temp_path ${o.dir}/nginx-body;
  upstream redis_store { nchan_redis_server redis://127.0.0.1:${o.redisPort}; }
  server {
    listen 127.0.0.1:${o.port} reuseport backlog=65535;
    location ~ ^/sub/(.+)$ {${channel('nchan_subscriber eventsource')}
      nchan_subscriber_first_message oldest;
      nchan_eventsource_ping_interval ${o.keepaliveSec ?? 25};
    }
    location ~ ^/multi/(.+)$ {${channel('nchan_subscriber eventsource')}
      nchan_channel_id_split_delimiter ",";
      nchan_subscriber_first_message oldest;
      nchan_eventsource_ping_interval ${o.keepaliveSec ?? 25};
    }
    location ~ ^/pub/(.+)$ {${channel('nchan_publisher')}
    }
    location = /nchan_status { nchan_stub_status; }
  }
}
`;
}
