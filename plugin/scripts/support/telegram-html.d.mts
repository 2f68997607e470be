export interface TelegramEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
}
export declare class TelegramParseError extends Error {}
/** Telegram `parse_mode: "HTML"`: the visible text and entities, or throws like Telegram's 400. */
export declare function parseTelegramHtml(html: string): { text: string; entities: TelegramEntity[] };
