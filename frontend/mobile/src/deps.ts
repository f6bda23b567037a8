import type { SocketFactory } from '@armillary/shared';

/** Key-value storage for secrets (the session): the platform keychain/keystore on phones. */
export interface SecureStorage {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
}

/** Network reachability: calls `listener` with the current state and on every change. */
export interface Connectivity {
  subscribe(listener: (online: boolean) => void): () => void;
}

/** A photo taken or chosen for OCR. On the web target `file` holds the picked File. */
export interface PickedImage {
  uri: string;
  name: string;
  type: string;
  file?: Blob;
}

export interface ImageSource {
  /** Take a photo with the camera (asks for permission); null when cancelled or refused. */
  take(): Promise<PickedImage | null>;
  /** Choose a photo from the library; null when cancelled. */
  choose(): Promise<PickedImage | null>;
}

/** What the app needs from the platform; tests pass their own. */
export interface AppDeps {
  storage: SecureStorage;
  connectivity: Connectivity;
  images: ImageSource;
  /** The suite's URL to offer on the login screen ('' on the web target: the page's origin). */
  defaultServer: string;
  /** Origin of the page on the web target (the WebSocket's origin when the server is ''). */
  pageOrigin?: string;
  fetchFn?: typeof fetch;
  socketFactory?: SocketFactory;
  /** Report app focus changes (refetch on return to the app); default: none. */
  onFocusChange?: (listener: (focused: boolean) => void) => () => void;
}
