import { registerRootComponent } from 'expo';
import { Root } from './src/Root';

// AppRegistry.registerComponent('main', () => Root) for Expo Go, dev builds and the web target.
registerRootComponent(Root);
