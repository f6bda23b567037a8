import NetInfo from '@react-native-community/netinfo';
import type { Connectivity } from '../deps';

/** Reachability from NetInfo: offline when there is no connection or the internet is known
 * to be unreachable (null, not yet known, counts as online). */
export const netInfoConnectivity: Connectivity = {
  subscribe: (listener) =>
    NetInfo.addEventListener((state) => listener(state.isConnected !== false && state.isInternetReachable !== false)),
};
