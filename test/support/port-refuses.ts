/** Whether nothing listens on a local port any more (a stopped server's port refuses connections). */
import { connect } from 'node:net';

export function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}
