import { isWxkitError } from '../errors.ts';
import { doctorUsage, runDoctor } from './doctor.ts';
import { type CliIO, UsageError } from './io.ts';
import { mediaUsage, runMedia } from './media.ts';
import { platformUsage, runPlatform } from './platform.ts';
import { runServe, serveUsage } from './serve.ts';
import { runSign, signUsage } from './sign.ts';
import { runSimulator, simulatorUsage } from './simulator.ts';
import { runToken, ticketSourceFromConfig, tokenUsage } from './token.ts';

type Command = { usage: string; run: (argv: string[], io: CliIO) => Promise<number> };

/** Every `wxkit` subcommand. Each lives in its own file under src/cli/. */
export const commands: Record<string, Command> = {
  serve: { usage: serveUsage, run: (argv, io) => runServe(argv, io) },
  sign: { usage: signUsage, run: (argv, io) => runSign(argv, io, ticketSourceFromConfig) },
  doctor: { usage: doctorUsage, run: (argv, io) => runDoctor(argv, io, ticketSourceFromConfig) },
  simulator: { usage: simulatorUsage, run: (argv, io) => runSimulator(argv, io) },
  token: { usage: tokenUsage, run: (argv, io) => runToken(argv, io) },
  media: { usage: mediaUsage, run: (argv, io) => runMedia(argv, io) },
  platform: { usage: platformUsage, run: (argv, io) => runPlatform(argv, io) },
};

const VERSION = '0.1.0';

function help(): string {
  return [
    'wxkit — WeChat JS-SDK signing, token custody, simulator',
    'wxkit —— 微信 JS-SDK 签名、凭据托管与模拟器',
    '',
    'Usage / 用法: wxkit <command> [options]',
    '',
    ...Object.values(commands).map((c) => c.usage),
    '',
    'Exit codes: 0 ok, 1 the check or operation failed, 2 bad usage.',
    '退出码：0 成功，1 检查或操作失败，2 用法错误。',
  ].join('\n');
}

/** Runs the CLI; returns the exit code. Never throws. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' && rest[0] ? commands[rest[0]] : undefined;
    io.out(topic ? topic.usage : help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(VERSION);
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.err(
      `wxkit: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}. / 未知命令，可用命令见上。`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(
        `wxkit ${name}: ${e.message}. See: wxkit ${name} --help / 用法有误：${e.zh}。请查看 wxkit ${name} --help`,
      );
      return 2;
    }
    if (isWxkitError(e)) {
      const hint = [e.hint.en, e.hint.zh].filter(Boolean).join(' / ');
      const errcode = e.errcode !== undefined ? ` (errcode ${e.errcode})` : '';
      io.err(`wxkit ${name}: ${e.message}${errcode} / ${e.messageZh}${hint ? ` — ${hint}` : ''}`);
      return 1;
    }
    io.err(
      `wxkit ${name}: unexpected error / 意外错误: ${e instanceof Error ? e.message : String(e)} (WXKIT_DEBUG=1 prints the stack / 设置 WXKIT_DEBUG=1 可打印调用栈)`,
    );
    if (io.env.WXKIT_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return 1;
  }
}
