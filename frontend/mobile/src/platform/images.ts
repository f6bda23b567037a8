import { imageMimeType } from '@armillary/shared';
import * as ImagePicker from 'expo-image-picker';
import type { ImageSource, PickedImage } from '../deps';

function picked(result: ImagePicker.ImagePickerResult): PickedImage | null {
  if (result.canceled || !result.assets?.length) return null;
  const a = result.assets[0];
  const name = a.fileName ?? a.uri.split('/').pop()?.split('?')[0] ?? 'photo.jpg';
  const withExt = /\.[a-z0-9]+$/i.test(name) ? name : `${name}.jpg`;
  return { uri: a.uri, name: withExt, type: a.mimeType ?? imageMimeType(withExt), file: a.file ?? undefined };
}

const options: ImagePicker.ImagePickerOptions = { mediaTypes: ['images'], quality: 0.9, exif: false };

/** Camera and photo library through expo-image-picker (permission asked on first use). */
export const pickerImages: ImageSource = {
  async take() {
    const permission = await ImagePicker.requestCameraPermissionsAsync();
    if (!permission.granted) throw new Error('Camera permission was refused; allow it in Settings to take photos.');
    return picked(await ImagePicker.launchCameraAsync(options));
  },
  async choose() {
    return picked(await ImagePicker.launchImageLibraryAsync(options));
  },
};
