import { useEffect, useRef, useState } from 'preact/hooks';

type Listening = 'both' | 'caller' | 'answering';

/** Gains of the four paths left→left, left→right, right→left, right→right for each choice. */
const MIX: Record<Listening, [number, number, number, number]> = {
  both: [1, 0, 0, 1],
  caller: [1, 1, 0, 0],
  answering: [0, 0, 1, 1],
};

interface Graph {
  context: AudioContext;
  gains: GainNode[];
  meters: AnalyserNode[];
}

/** Sets the four paths' gains for what the person chose to hear. */
function applyMix(g: Graph, listening: Listening): void {
  MIX[listening].forEach((v, i) => g.gains[i]?.gain.setValueAtTime(v, g.context.currentTime));
}

/** How loud one channel is right now, 0–1 (the peak of the analyser's last window). */
function level(meter: AnalyserNode, buffer: Float32Array<ArrayBuffer>): number {
  meter.getFloatTimeDomainData(buffer);
  let peak = 0;
  for (const v of buffer) peak = Math.max(peak, Math.abs(v));
  return Math.min(1, peak);
}

/**
 * A two-channel recording (caller on the left, answering party on the right) as two tracks: a level
 * for each side while it plays, and a switch to hear both, only the caller or only the answering
 * party (the chosen side in both ears). The browser's own player still seeks through the API's Range
 * answers; Web Audio routes what it decodes. The graph is built on first play, inside the person's
 * gesture, as browsers allow audio only then.
 */
export function DualChannelPlayer({ src, recordingId }: { src: string; recordingId: number }) {
  const audio = useRef<HTMLAudioElement>(null);
  const graph = useRef<Graph | null>(null);
  const [listening, setListening] = useState<Listening>('both');
  const [levels, setLevels] = useState<[number, number]>([0, 0]);

  const build = (): Graph | null => {
    const el = audio.current;
    if (!el) return null;
    if (graph.current) return graph.current;
    const context = new AudioContext();
    const source = context.createMediaElementSource(el);
    const splitter = context.createChannelSplitter(2);
    const merger = context.createChannelMerger(2);
    source.connect(splitter);
    const gains = [0, 1, 2, 3].map(() => context.createGain());
    // path i: from channel i >> 1 to output i & 1.
    gains.forEach((g, i) => {
      splitter.connect(g, i >> 1);
      g.connect(merger, 0, i & 1);
    });
    const meters = [0, 1].map((channel) => {
      const meter = context.createAnalyser();
      meter.fftSize = 512;
      splitter.connect(meter, channel);
      return meter;
    });
    merger.connect(context.destination);
    graph.current = { context, gains, meters };
    return graph.current;
  };

  useEffect(() => {
    if (graph.current) applyMix(graph.current, listening);
  }, [listening]);

  useEffect(() => {
    const el = audio.current;
    if (!el) return;
    let frame = 0;
    const buffer = new Float32Array(512);
    const tick = () => {
      const g = graph.current;
      if (g && g.meters[0] && g.meters[1]) setLevels([level(g.meters[0], buffer), level(g.meters[1], buffer)]);
      frame = requestAnimationFrame(tick);
    };
    const onPlay = () => {
      const g = build();
      if (!g) return;
      applyMix(g, listening);
      void g.context.resume();
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(tick);
    };
    const onStop = () => {
      cancelAnimationFrame(frame);
      setLevels([0, 0]);
    };
    el.addEventListener('play', onPlay);
    el.addEventListener('pause', onStop);
    el.addEventListener('ended', onStop);
    return () => {
      cancelAnimationFrame(frame);
      el.removeEventListener('play', onPlay);
      el.removeEventListener('pause', onStop);
      el.removeEventListener('ended', onStop);
    };
  }, [listening]);

  useEffect(() => () => void graph.current?.context.close(), []);

  return (
    <div class="dual" data-listening={listening}>
      <audio ref={audio} controls preload="metadata" src={src} data-recording-id={recordingId} />
      <div class="tracks" aria-hidden="true">
        {(['Caller', 'Answering party'] as const).map((name, i) => (
          <div class="track" data-track={i === 0 ? 'caller' : 'answering'} data-level={levels[i]?.toFixed(3)}>
            <span>{name}</span>
            <span class="meter">
              <span style={{ width: `${Math.round((levels[i] ?? 0) * 100)}%` }} />
            </span>
          </div>
        ))}
      </div>
      <fieldset class="switch">
        <legend>Listen to</legend>
        {(
          [
            ['both', 'both sides'],
            ['caller', 'the caller only'],
            ['answering', 'the answering party only'],
          ] as const
        ).map(([v, label]) => (
          <label class="check">
            <input type="radio" name={`listen-${recordingId}`} value={v} checked={listening === v} onChange={() => setListening(v)} />
            {label}
          </label>
        ))}
      </fieldset>
    </div>
  );
}
