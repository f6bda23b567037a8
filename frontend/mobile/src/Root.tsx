import { App } from './App';
import { platformDeps } from './platform';

const deps = platformDeps();

/** The registered root component: the app on the real platform. */
export function Root() {
  return <App deps={deps} />;
}
